"""Small widgets shared by the panels: the error banner and clickable thumbnails."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QToolButton, QWidget

from cvstudio.qt.images import to_pixmap


class ErrorBanner(QFrame):
    """A red strip above the views: the last error, a Details… button, a close button. Never modal."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.message = QLabel(wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details…")
        close = QToolButton(text="✕", toolTip="Hide this message")
        layout = QHBoxLayout(self)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.details_button)
        layout.addWidget(close)
        self.details_button.clicked.connect(self.show_details)
        close.clicked.connect(self.hide)
        self.details = ""
        self.dialog: QMessageBox | None = None
        self.hide()

    def show_error(self, message: str, details: str = "") -> None:
        self.message.setText(message)
        self.details = details
        self.details_button.setVisible(bool(details))
        self.show()

    @Slot()
    def show_details(self) -> None:
        self.dialog = QMessageBox(QMessageBox.Icon.Critical, "Error details", self.message.text(), parent=self)
        self.dialog.setDetailedText(self.details)
        self.dialog.setModal(False)
        self.dialog.show()


class Thumbnail(QLabel):
    """An image that says which dataset index it shows when clicked."""

    clicked = Signal(int)

    def __init__(self, image: np.ndarray, index: int, size: int, tooltip: str = "") -> None:
        super().__init__()
        self.index = index
        self.setPixmap(to_pixmap(image, size))
        self.setFixedSize(size + 6, size + 6)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setToolTip(tooltip or f"image #{index}")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.set_selected(False)

    def set_selected(self, selected: bool) -> None:
        self.setStyleSheet("border: 3px solid palette(highlight);" if selected else "border: 3px solid transparent;")

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.clicked.emit(self.index)
