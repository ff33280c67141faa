"""Where the app keeps what should survive a restart: last experiment, window layout, theme.

Settings are an INI file. ``CVSTUDIO_SETTINGS`` (or the constructor argument)
points elsewhere, so tests and screenshots never touch the user's settings.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

SETTINGS_ENV = "CVSTUDIO_SETTINGS"
log = logging.getLogger(__name__)


def open_settings(path: Path | None = None) -> QSettings:
    """The settings file at ``path``, ``$CVSTUDIO_SETTINGS``, or the user's config directory."""
    path = path or (Path(os.environ[SETTINGS_ENV]) if os.environ.get(SETTINGS_ENV) else None)
    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "cvstudio", "cvstudio")


def read_value(settings: QSettings, key: str, kind: type, default: Any = None) -> Any:
    """``key``'s value if it is a ``kind``, else ``default``, with a note in the log.

    A hand-edited or damaged settings file must not stop the app from
    starting: Qt raises on a restore given a value of the wrong type.
    """
    value = settings.value(key)
    if value is None:
        return default
    if kind is bool and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
        return value
    log.warning("settings %s: %r is %r, not a %s; using the default", settings.fileName(), key, value, kind.__name__)
    return default


def read_json(settings: QSettings, key: str) -> Any:
    """A JSON value stored under ``key``, or None when missing or unreadable."""
    text = settings.value(key)
    try:
        return json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return None


def write_json(settings: QSettings, key: str, value: Any) -> None:
    settings.setValue(key, json.dumps(value))
