"""The notes editor; its text lives in the window's settings."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QPlainTextEdit

SETTINGS_KEY = "cvstudio-notes/text"


class NotesPanel(QPlainTextEdit):
    def __init__(self, window: Any) -> None:
        super().__init__()
        self.settings = window.settings
        self.setPlaceholderText("Notes for this lesson: what to show, what to ask, what to say…")
        self.setPlainText(str(self.settings.value(SETTINGS_KEY, "")))
        self.textChanged.connect(self._save)

    @Slot()
    def _save(self) -> None:
        self.settings.setValue(SETTINGS_KEY, self.toPlainText())
