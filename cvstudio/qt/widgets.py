"""Small widgets shared by the panels: the error banner, clickable thumbnails, text and bars that change live,
and a hook for work that must wait until the window is on screen."""

from __future__ import annotations

from typing import Callable, TypeVar

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from cvstudio.qt.images import to_pixmap

Named = TypeVar("Named", bound=QObject)


def name_widget(widget: Named, object_name: str, accessible_name: str = "") -> Named:
    """Give ``widget`` a stable objectName (for tests and automation) and the name a screen reader says."""
    widget.setObjectName(object_name)
    if accessible_name and isinstance(widget, QWidget):
        widget.setAccessibleName(accessible_name)
    return widget


def fit_to_width(combo: QComboBox, characters: int = 20) -> QComboBox:
    """Let a picker of long names (run ids) shrink to ``characters``, its text elided, not widen the window.

    Its tooltip says the whole name of the current item, after the tooltip it had.
    """
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    about = combo.toolTip()
    combo.currentTextChanged.connect(lambda text: combo.setToolTip("\n".join(filter(None, [about, text]))))
    return combo


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


class LiveText(QWidget):
    """One line of plain text that changes several times a second, such as a progress line.

    A QLabel asks its layout for a new geometry with every new text, and the
    relayout repaints the window around it; this repaints only its own line,
    with the next frame. Text too long for the width ends in an ellipsis.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - the QLabel name, so either serves
        if text != self._text:
            self._text = text
            self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        metrics = self.fontMetrics()
        return QSize(metrics.horizontalAdvance(self._text), metrics.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(0, self.fontMetrics().height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        text = self.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight, self.width())
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)


class LiveBar(QProgressBar):
    """A progress bar whose new value is painted with the next frame.

    ``QProgressBar.setValue`` repaints at once, inside the call, holding the
    Python interpreter that a training thread is waiting for.
    """

    def setValue(self, value: int) -> None:  # noqa: N802 - Qt override
        self.setUpdatesEnabled(False)
        super().setValue(value)
        self.setUpdatesEnabled(True)  # schedules the repaint


FIRST_FRAME_PATIENCE_MS = 2000  # a window that is never exposed (minimised, say) starts all the same


class _FirstFrame(QObject):
    """Calls back once, just after the first frame of a widget's window has been painted."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self.widget = widget
        self.callback: Callable[[], None] | None = callback
        QTimer.singleShot(0, self._check)

    @Slot()
    def _check(self) -> None:
        handle = self.widget.windowHandle()
        if self.widget.isVisible() and handle is not None and not handle.isExposed():
            handle.installEventFilter(self)  # not on screen yet: wait for it
            QTimer.singleShot(FIRST_FRAME_PATIENCE_MS, self._fire)
        else:
            self._fire()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Expose and watched.isExposed():
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._fire)  # the expose paints the window first
        return False

    def _fire(self) -> None:
        callback, self.callback = self.callback, None
        if callback is not None:
            callback()


def after_first_frame(widget: QWidget, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the window of ``widget`` is on screen (at the next turn of the event loop if
    it is not shown): heavy work started earlier would compete with drawing the first frame."""
    _FirstFrame(widget, callback)
