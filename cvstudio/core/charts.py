"""Line charts drawn with OpenCV and encoded as PNG, for reports that open anywhere.

OpenCV is already a dependency, so reports need no plotting library. The
Hershey fonts only draw ASCII, so charts carry numbers and axis titles only;
the legend (pipeline names may hold any character) is written next to the
chart in HTML, in the same colours (:data:`PALETTE`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

# Colour-blind-friendly (Okabe–Ito), as hex for HTML; charts convert them to BGR.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
FONT = cv2.FONT_HERSHEY_SIMPLEX
WIDTH, HEIGHT = 900, 420
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 80, 30, 50, 60
INK, GRID = (40, 40, 40), (225, 225, 225)


@dataclass(frozen=True)
class Line:
    """One series; ``dashed`` draws a horizontal reference line across the chart at ``y[0]`` (``x`` is unused)."""

    x: Sequence[float]
    y: Sequence[float]
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class Chart:
    """What to draw; the axes' ranges follow the data unless ``y_range`` fixes them (accuracy: 0 to 1)."""

    title: str
    x_label: str
    y_label: str
    lines: list[Line] = field(default_factory=list)
    y_range: tuple[float, float] | None = None
    integer_x: bool = False  # e.g. epochs: no tick at 1.5


def color_of(index: int) -> str:
    """The colour of series ``index``; after eight series the palette starts again."""
    return PALETTE[index % len(PALETTE)]


def _bgr(color: str) -> tuple[int, int, int]:
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return blue, green, red


def nice_ticks(low: float, high: float, count: int = 5, integer: bool = False) -> list[float]:
    """About ``count`` round tick values within [low, high]: steps of 1, 2 or 5 times a power of ten."""
    span = max(high - low, 1e-9)
    magnitude = 10 ** np.floor(np.log10(span / count))
    step = min((m * magnitude for m in (1, 2, 5, 10)), key=lambda s: abs(span / s - count))
    if integer:
        step = max(step, 1.0)
    first = np.ceil(low / step - 1e-9) * step
    return [round(float(v), 10) + 0.0 for v in np.arange(first, high + step * 1e-6, step)]  # + 0.0: no "-0"


def draw_chart(chart: Chart) -> np.ndarray:
    """The chart as a BGR image, white background, axes with ticks, one polyline per series."""
    image = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    xs = [float(v) for line in chart.lines if not line.dashed for v in line.x]
    ys = [float(v) for line in chart.lines for v in line.y]
    x_low, x_high = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_high == x_low:
        x_low, x_high = x_low - 0.5, x_high + 0.5
    y_low, y_high = chart.y_range or ((min(ys), max(ys)) if ys else (0.0, 1.0))
    if y_high == y_low:
        y_low, y_high = y_low - 0.5, y_high + 0.5
    left, right, top, bottom = MARGIN_LEFT, WIDTH - MARGIN_RIGHT, MARGIN_TOP, HEIGHT - MARGIN_BOTTOM

    def point(x: float, y: float) -> tuple[int, int]:
        return (round(left + (x - x_low) / (x_high - x_low) * (right - left)),
                round(bottom - (y - y_low) / (y_high - y_low) * (bottom - top)))

    for tick in nice_ticks(y_low, y_high):
        _, y = point(x_low, tick)
        cv2.line(image, (left, y), (right, y), GRID, 1)
        _text(image, f"{tick:g}", (left - 8, y + 5), align="right")
    for tick in nice_ticks(x_low, x_high, integer=chart.integer_x):
        x, _ = point(tick, y_low)
        cv2.line(image, (x, bottom), (x, bottom + 5), INK, 1)
        _text(image, f"{tick:g}", (x, bottom + 22), align="center")
    cv2.rectangle(image, (left, top), (right, bottom), INK, 1)
    _text(image, chart.title, (WIDTH // 2, 30), align="center", scale=0.7, thickness=2)
    _text(image, chart.x_label, ((left + right) // 2, HEIGHT - 14), align="center")
    _text(image, chart.y_label, (12, top - 14))
    for line in chart.lines:
        color = _bgr(line.color)
        if line.dashed:
            _dashed(image, point(x_low, float(line.y[0])), point(x_high, float(line.y[0])), color)
            continue
        points = np.array([point(float(x), float(y)) for x, y in zip(line.x, line.y)], np.int32)
        cv2.polylines(image, [points], False, color, 3, cv2.LINE_AA)
        for x, y in points:
            cv2.circle(image, (int(x), int(y)), 5, color, -1, cv2.LINE_AA)
    return image


def _dashed(image: np.ndarray, start: tuple[int, int], end: tuple[int, int], color: tuple[int, int, int]) -> None:
    for x in range(start[0], end[0], 18):
        cv2.line(image, (x, start[1]), (min(x + 10, end[0]), start[1]), color, 3, cv2.LINE_AA)


def _text(image: np.ndarray, text: str, at: tuple[int, int], align: str = "left", scale: float = 0.5,
          thickness: int = 1) -> None:
    text = text.encode("ascii", "replace").decode("ascii")
    (width, _), _ = cv2.getTextSize(text, FONT, scale, thickness)
    x = at[0] - {"left": 0, "center": width // 2, "right": width}[align]
    cv2.putText(image, text, (x, at[1]), FONT, scale, INK, thickness, cv2.LINE_AA)


def png_data_uri(image: np.ndarray) -> str:
    """A ``data:image/png;base64,...`` URI, so an HTML file carries its images inside it."""
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - only on a broken OpenCV build
        raise RuntimeError("OpenCV could not encode a PNG image")
    return "data:image/png;base64," + base64.b64encode(encoded.tobytes()).decode("ascii")
