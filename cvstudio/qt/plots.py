"""pyqtgraph building blocks made once and updated in place."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

LINE_WIDTH = 3


@dataclass
class Series:
    """Points recorded so far for one curve; ``dirty`` until drawn.

    Past ``limit`` points (0: none) every other point is dropped, the newest
    kept, so drawing a long run's curve costs no more than a short one's.
    """

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    limit: int = 0
    dirty: bool = False

    def add(self, x: float, y: float) -> None:
        self.x.append(x)
        self.y.append(y)
        self.dirty = True
        if self.limit and len(self.x) > self.limit:
            del self.x[-2::-2]
            del self.y[-2::-2]


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


Box = tuple[float, float, float, float]  # left, top, right, bottom, in pixels (y grows downwards)
# Where a label may go around its point, in order of preference: centred above, below, right, left; the same
# slid along that side; then the corners. Each is the label's left and top as fractions of its width and
# height, plus multiples of the gap.
PLACES = (
    ((-0.5, 0), (-1, -1)), ((-0.5, 0), (0, 1)), ((0, 1), (-0.5, 0)), ((-1, -1), (-0.5, 0)),
    *(((slide, 0), (-1, -1)) for slide in (-0.2, -0.8)), *(((slide, 0), (0, 1)) for slide in (-0.2, -0.8)),
    *(((0, 1), (slide, 0)) for slide in (-0.1, -0.9)), *(((-1, -1), (slide, 0)) for slide in (-0.1, -0.9)),
    ((0, 0.5), (-1, -0.5)), ((0, 0.5), (0, 0.5)), ((-1, -0.5), (-1, -0.5)), ((-1, -0.5), (0, 0.5)),
)
LABEL_MARGIN = 3.0  # pixels kept free around a label: names that touch read as one
PLACING_ROUNDS = 3
PLACING_ORDERS = 12


def _overlap(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def place_labels(points: Sequence[tuple[float, float]], sizes: Sequence[tuple[float, float]], area: Box,
                 gap: float = 10.0) -> list[Box]:
    """A box for each point's label, clear of the other labels, of every point and of the plot's edges.

    ``points`` and ``sizes`` (label width and height) are in pixels. Labels are placed left to right,
    each in the first of :data:`PLACES` that collides (with a margin) with no other label, or where every
    place collides, in the one that covers the least; then each is placed again knowing all the others.
    Where labels still collide, other orders are tried and the one that collides least is kept. No label
    comes nearer than ``gap`` pixels to a point.
    """
    reach = gap - LABEL_MARGIN  # a label's margin may not come nearer a point's centre than this
    markers = [(x - reach, y - reach, x + reach, y + reach) for x, y in points]
    order = sorted(range(len(points)), key=lambda i: points[i])
    shuffler = random.Random(0)  # the same points get the same places every time
    best: tuple[float, list[Box]] | None = None
    for _ in range(PLACING_ORDERS):  # left to right first; in a crowd, the order decides who gets the good places
        boxes: dict[int, Box] = {}
        for _ in range(PLACING_ROUNDS):  # the first round places each label beside those before it; the next
            for index in order:          # ones move each label again, knowing where all the others went
                placed = [box for other, box in boxes.items() if other != index]
                boxes[index] = _best_place(points[index], sizes[index], placed, markers, area, gap)
        result = [boxes[i] for i in range(len(points))]
        clash = sum(_overlap(a, b) for a, b in itertools.combinations(result, 2)) + sum(
            _overlap(box, marker) for box in result for marker in markers) + sum(
            (box[2] - box[0]) * (box[3] - box[1]) - _overlap(box, area) for box in result)
        if best is None or clash < best[0]:
            best = (clash, result)
        if clash == 0:
            break
        shuffler.shuffle(order)
    return best[1] if best else []


def _best_place(point: tuple[float, float], size: tuple[float, float], placed: list[Box], markers: list[Box],
                area: Box, gap: float) -> Box:
    (x, y), (width, height) = point, size

    def box(place: tuple[tuple[float, float], tuple[float, float]]) -> Box:
        (fx, gx), (fy, gy) = place
        left, top = x + fx * width + gx * gap, y + fy * height + gy * gap
        return left, top, left + width, top + height

    def cost(candidate: Box) -> float:
        inside = _overlap(candidate, area)
        left, top, right, bottom = candidate
        margin = (left - LABEL_MARGIN, top - LABEL_MARGIN, right + LABEL_MARGIN, bottom + LABEL_MARGIN)
        clash = sum(_overlap(margin, other) for other in [*placed, *markers])
        return clash + (width * height - inside) * 2  # past the edge is worse than over a neighbour

    return min((box(place) for place in PLACES), key=cost)  # min keeps the first of equal costs


class PointLabels:
    """Names beside the points of a scatter plot, kept clear of each other and of the points.

    Placing is done in pixels, so it is done again whenever the plot is resized or its range changes.
    """

    def __init__(self, plot: pg.PlotWidget, color: str) -> None:
        self.plot, self.color = plot, color
        self.items: list[pg.TextItem] = []
        view = plot.getViewBox()
        view.sigResized.connect(self.place)
        view.sigRangeChanged.connect(self.place)

    def show(self, names: Sequence[str], xs: Sequence[float], ys: Sequence[float]) -> None:
        """Label the points at (xs, ys), in view coordinates (a log axis's log10 values)."""
        for item in self.items:
            self.plot.removeItem(item)
        self.items = []
        for name, x, y in zip(names, xs, ys):
            item = pg.TextItem(name, color=self.color)
            item.setPos(float(x), float(y))
            self.plot.addItem(item)
            self.items.append(item)
        self.place()

    def set_color(self, color: str) -> None:
        self.color = color
        for item in self.items:
            item.setColor(color)

    def place(self) -> None:
        if not self.items:
            return
        view = self.plot.getViewBox()
        points = [view.mapViewToScene(item.pos()) for item in self.items]
        sizes = [(item.boundingRect().width(), item.boundingRect().height()) for item in self.items]
        area = view.sceneBoundingRect()
        boxes = place_labels([(p.x(), p.y()) for p in points], sizes,
                             (area.left(), area.top(), area.right(), area.bottom()))
        for item, point, (width, height), (left, top, _, _) in zip(self.items, points, sizes, boxes):
            item.setAnchor(((point.x() - left) / width, (point.y() - top) / height))


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
