"""Where the app keeps what should survive a restart: last experiment, window layout, theme.

Settings are an INI file. ``CVSTUDIO_SETTINGS`` (or the constructor argument)
points elsewhere, so tests and screenshots never touch the user's settings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

SETTINGS_ENV = "CVSTUDIO_SETTINGS"


def open_settings(path: Path | None = None) -> QSettings:
    """The settings file at ``path``, ``$CVSTUDIO_SETTINGS``, or the user's config directory."""
    path = path or (Path(os.environ[SETTINGS_ENV]) if os.environ.get(SETTINGS_ENV) else None)
    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "cvstudio", "cvstudio")


def read_json(settings: QSettings, key: str) -> Any:
    """A JSON value stored under ``key``, or None when missing or unreadable."""
    text = settings.value(key)
    try:
        return json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None


def write_json(settings: QSettings, key: str, value: Any) -> None:
    settings.setValue(key, json.dumps(value))
