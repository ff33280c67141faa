"""Dark and light themes readable from the back of a classroom.

Large base font, thick plot lines and high-contrast colours; plots are
styled here too, so a theme switch restyles every plot in the window.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

BASE_POINT_SIZE = 12
PLOT_POINT_SIZE = 13
# Presentation mode: readable on a projector from the back of a room.
PRESENTATION_POINT_SIZE = 18
PRESENTATION_PLOT_POINT_SIZE = 18


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    text: str
    muted: str
    accent: str
    plot_background: str
    plot_foreground: str
    train: str
    val: str
    references: tuple[str, ...]
    error: str
    colormap: str

    @property
    def dark(self) -> bool:
        return self.name == "dark"


DARK = Theme(
    name="dark", window="#1e1f22", base="#2b2d31", text="#f2f3f5", muted="#a4a8b0", accent="#4ea1ff",
    plot_background="#111214", plot_foreground="#e8e8e8", train="#ff9f1c", val="#2ec4ff",
    references=("#ff5d8f", "#7cf29c", "#ffe45e", "#c08bff"), error="#ff6b6b", colormap="viridis",
)
LIGHT = Theme(
    name="light", window="#f4f5f7", base="#ffffff", text="#111111", muted="#50555c", accent="#0b5cd5",
    plot_background="#ffffff", plot_foreground="#111111", train="#d35400", val="#0060c0",
    references=("#c2185b", "#1b8a3a", "#8a6d00", "#6a1b9a"), error="#b00020", colormap="viridis",
)
THEMES = {theme.name: theme for theme in (DARK, LIGHT)}


def apply_theme(app: QApplication, theme: Theme, large: bool = False) -> None:
    """Fusion style with the theme's palette and a projector-friendly font (``large``: presentation mode)."""
    size = PRESENTATION_POINT_SIZE if large else BASE_POINT_SIZE
    app.setStyle("Fusion")
    font = QFont(app.font())
    font.setPointSize(size)
    app.setFont(font)
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.base,
        QPalette.ColorRole.AlternateBase: theme.window,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.base,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.ToolTipBase: theme.base,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.Highlight: theme.accent,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: theme.muted,
        QPalette.ColorRole.Link: theme.accent,
    }
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(theme.muted))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(theme.muted))
    app.setPalette(palette)
    app.setStyleSheet(
        f"QLabel#description {{ color: {theme.muted}; }}"
        f"QLabel#heading {{ font-size: {size + 4}pt; font-weight: bold; }}"
        f"QLabel#big, LiveText#big {{ font-size: {size + 2}pt; }}"
        f"QLabel#right {{ color: {theme.references[1]}; font-weight: bold; }}"
        f"QLabel#wrong {{ color: {theme.error}; font-weight: bold; }}"
        f"QFrame#banner {{ background: {theme.error}; border-radius: 4px; }}"
        "QFrame#banner QLabel { color: white; font-weight: bold; }"
        "QGroupBox { font-weight: bold; margin-top: 1.2em; }"
        "QGroupBox::title { subcontrol-origin: margin; left: 8px; }"
        "QTabBar::tab { padding: 8px 16px; }"
    )
    # Antialiased wide lines cost ~80 ms a repaint in Qt's software rasteriser: too slow next to training.
    pg.setConfigOptions(background=theme.plot_background, foreground=theme.plot_foreground, antialias=False)


def style_plots(root: QWidget, theme: Theme, large: bool = False) -> None:
    """Restyle every pyqtgraph view under ``root``: background, axes, tick and label fonts."""
    tick_font = QFont()
    tick_font.setPointSize(PRESENTATION_PLOT_POINT_SIZE if large else PLOT_POINT_SIZE)
    for view in root.findChildren(pg.GraphicsView):
        view.setBackground(theme.plot_background)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.setPen(pg.mkPen(theme.plot_foreground))
                item.setTextPen(pg.mkPen(theme.plot_foreground))
                item.setTickFont(tick_font)
                item.label.setDefaultTextColor(QColor(theme.plot_foreground))
            elif isinstance(item, pg.LabelItem):
                item.setText(item.text, color=theme.plot_foreground)
            elif isinstance(item, pg.LegendItem):
                item.setLabelTextColor(theme.plot_foreground)
                item.setBrush(pg.mkBrush(QColor(theme.plot_background)))
