"""pyqtgraph building blocks made once and updated in place."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

LINE_WIDTH = 3


def line_plot(title: str, x_label: str, y_label: str, legend_at_bottom: bool = False) -> pg.PlotWidget:
    """A plot for growing curves; put the legend where the curves will not be (e.g. bottom for a loss)."""
    plot = pg.PlotWidget(title=f"<span style='font-size:15pt'>{title}</span>")
    plot.setAccessibleName(title)
    plot.setLabel("bottom", x_label, **{"font-size": "14pt"})
    plot.setLabel("left", y_label, **{"font-size": "14pt"})
    plot.showGrid(x=True, y=True, alpha=0.25)
    for axis in plot.getPlotItem().axes.values():
        # Tick text is the costliest part of a repaint in Qt's software rasteriser: draw each axis (and its
        # grid) from a pixmap until its range changes, and leave out the finest grid level.
        axis["item"].setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        axis["item"].setStyle(maxTickLevel=1)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.addLegend(offset=(10, -10 if legend_at_bottom else 10), labelTextSize="13pt")
    return plot


def short_number(value: float) -> str:
    """1000 → '1k', 2500000 → '2.5M': tick text that fits under a point."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def label_log_axis(plot: pg.PlotWidget, values: Sequence[float], axis: str = "bottom") -> None:
    """Ticks at 1, 2 and 5 × the powers of ten that span ``values`` on a log axis, only the powers labelled.

    pyqtgraph labels every minor step of a log axis that spans few decades, and the labels run into
    each other; 2× and 5× are labelled only when the values lie within one decade.
    """
    positive = [v for v in values if v > 0]
    if not positive:
        plot.getAxis(axis).setTicks(None)
        return
    low, high = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
    one_decade = high - low <= 1
    major, minor = [], []
    for power in range(low, high + 1):
        for step in (1, 2, 5) if power < high else (1,):
            value = step * 10.0 ** power
            labelled = step == 1 or one_decade
            (major if labelled else minor).append((math.log10(value), short_number(value) if labelled else ""))
    plot.getAxis(axis).setTicks([major, minor])


class ImagePanel(pg.GraphicsLayoutWidget):
    """One image with a title, pixels square, no axes; ``show_image`` updates it in place."""

    def __init__(self, title: str = "", colormap: str | None = "viridis") -> None:
        super().__init__()
        self.setAccessibleName(title or "Image")
        self.label = self.addLabel(title, size="13pt", row=0, col=0)
        # no context menu: there is nothing to zoom, and building one costs startup time (a dozen panels)
        self.view = self.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.needs_range = True
        self.item = pg.ImageItem()
        self.view.addItem(self.item)
        self.set_colormap(colormap)

    def set_colormap(self, colormap: str | None) -> None:
        """Colormap for single-channel images; colour images are always shown as they are."""
        self.lut = pg.colormap.get(colormap).getLookupTable(nPts=256) if colormap else None
        if self.item.image is not None and self.item.image.ndim == 2:
            self.item.setLookupTable(self.lut)

    def set_title(self, title: str) -> None:
        self.label.setText(title)

    def show_image(self, image: np.ndarray) -> None:
        """Fixed levels, never autoscaled per frame: uint8 as 0–255, floats as 0–1."""
        if self.item.image is None or self.item.image.shape != image.shape:
            self.needs_range = True
        lut = self.lut if image.ndim == 2 else None
        if lut is not self.item.lut:
            self.item.setLookupTable(lut)
        levels = (0, 255) if image.dtype == np.uint8 else (0.0, 1.0)
        self.item.setImage(image, autoLevels=False, levels=levels)
        self._fit()

    def _fit(self) -> None:
        """Frame a new image size, once the view is on screen (a hidden view has no size to fit to)."""
        if self.needs_range and self.isVisible() and self.item.image is not None:
            self.view.autoRange(padding=0.02)
            self.needs_range = False

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.needs_range = True
        self._fit()

    def blank(self) -> None:
        """Blank the image, keeping its size. (Not ``clear``: GraphicsLayoutWidget's instance
        attribute of that name empties the whole layout.)"""
        if self.item.image is not None:
            self.item.setImage(np.zeros_like(self.item.image), autoLevels=False)
