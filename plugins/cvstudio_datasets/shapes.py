"""The generated *shapes* dataset of the default lesson, made so that what it teaches is true.

Only the outline of the main shape tells its class. Its color and the
background's are drawn at random, independently of the class, and every shape
covers the same area at a given scale, so a color histogram (or a pixel count)
sees nothing. Random position, scale, rotation, noise and clutter are the
nuisances that hand-crafted edge features (HOG) only partly cope with, while a
CNN trained on enough images learns to ignore them.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from cvstudio.core.data import ImageDataset
from cvstudio.core.memory import check_fits, image_bytes

SHAPE_NAMES = ("circle", "square", "triangle", "star", "cross", "ring", "crescent", "arrow")

_SUBPIXEL_BITS = 4  # cv2 draws at 1/16 pixel: shapes move and turn smoothly, edges anti-aliased
# Tuned by measuring color-histogram + SVM, HOG + SVM and a small CNN against training-set size:
# with these, color is at chance, HOG plateaus well short of perfect and the CNN passes it.
_SIDE_RANGE = (0.22, 0.42)  # square root of the shape's area, as a fraction of the image side
_CLUTTER_PER_NUISANCE = 6.0  # mean number of clutter lines and blobs at nuisance 1
_NOISE_SIGMA = (4.0, 16.0)  # pixel noise: this much at nuisance 0, plus this much times nuisance
_NOISE_STREAM = 1  # the noise has its own random stream, so that it can be drawn a chunk at a time
_CHUNK_BYTES = 4 * 1024**2  # float32 working space per chunk of images


def _arc(radius: float, start: float, stop: float, count: int, center: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    angles = np.linspace(start, stop, count, endpoint=False)
    return np.stack([center[0] + radius * np.cos(angles), center[1] + radius * np.sin(angles)], axis=1)


def _regular(sides: int, phase: float = 0.0) -> np.ndarray:
    return _arc(1.0, phase, phase + 2 * np.pi, sides)


def _star() -> np.ndarray:
    radii = np.tile([1.0, 0.42], 5)
    angles = np.linspace(0, 2 * np.pi, 10, endpoint=False) - np.pi / 2
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _crescent() -> np.ndarray:
    """A unit disc with a bite: the disc of radius 0.8 centred at (0.55, 0) taken away."""
    bite_radius, offset = 0.8, 0.55
    x = (1 + offset**2 - bite_radius**2) / (2 * offset)
    y = np.sqrt(1 - x**2)
    outer = np.arctan2(y, x)
    inner = np.arctan2(y, x - offset)
    return np.concatenate(
        [
            _arc(1.0, outer, 2 * np.pi - outer, 40),
            _arc(bite_radius, 2 * np.pi - inner, inner, 24, center=(offset, 0.0)),
        ]
    )


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))) / 2


@cache
def _unit_outlines() -> tuple[tuple[np.ndarray, ...], ...]:
    """Each shape as contours (the first outer, the rest holes), scaled to area 1."""
    cross = np.array(
        [(-1, -3), (1, -3), (1, -1), (3, -1), (3, 1), (1, 1), (1, 3), (-1, 3), (-1, 1), (-3, 1), (-3, -1), (-1, -1)],
        dtype=float,
    )
    arrow = np.array([(-3, -0.9), (0.5, -0.9), (0.5, -2.2), (3, 0), (0.5, 2.2), (0.5, 0.9), (-3, 0.9)], dtype=float)
    outlines = {
        "circle": (_regular(48),),
        "square": (_regular(4, np.pi / 4),),
        "triangle": (_regular(3, -np.pi / 2),),
        "star": (_star(),),
        "cross": (cross,),
        "ring": (_regular(48), 0.55 * _regular(48)),
        "crescent": (_crescent(),),
        "arrow": (arrow,),
    }
    normalised = []
    for name in SHAPE_NAMES:
        contours = outlines[name]
        area = _polygon_area(contours[0]) - sum(_polygon_area(hole) for hole in contours[1:])
        centre = contours[0].mean(axis=0)
        normalised.append(tuple((c - centre) / np.sqrt(area) for c in contours))
    return tuple(normalised)


def _random_colors(rng: np.random.Generator, count: int, dark: np.ndarray) -> np.ndarray:
    """Colors of any hue and saturation, dark or light as asked: (count, 3) float RGB."""
    hsv = np.empty((count, 1, 3), np.float32)
    hsv[:, 0, 0] = rng.uniform(0, 360, count)
    hsv[:, 0, 1] = rng.uniform(0, 1, count)
    hsv[:, 0, 2] = np.where(dark, rng.uniform(0.05, 0.4, count), rng.uniform(0.6, 1.0, count))
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[:, 0] * 255


def _subpixel(points: np.ndarray) -> np.ndarray:
    """Float pixel coordinates as the fixed-point integers cv2 draws with ``shift=_SUBPIXEL_BITS``."""
    return np.round(points * (1 << _SUBPIXEL_BITS)).astype(np.int32)


def _fill(canvas: np.ndarray, contours: tuple[np.ndarray, ...], color: float) -> None:
    cv2.fillPoly(canvas, [_subpixel(c) for c in contours], color, cv2.LINE_AA, _SUBPIXEL_BITS)


def _place(
    contours: tuple[np.ndarray, ...], rng: np.random.Generator, size: int, side: float
) -> tuple[np.ndarray, ...]:
    """Rotate, scale to ``side`` pixels (square root of the area) and move to a random spot inside."""
    angle = rng.uniform(0, 2 * np.pi)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = [c @ rotation.T * side for c in contours]
    low, high = moved[0].min(axis=0), moved[0].max(axis=0)
    room_low, room_high = 1 - low, size - 1 - high
    shift = rng.uniform(np.minimum(room_low, room_high), np.maximum(room_low, room_high))
    return tuple(c + shift for c in moved)


def _clutter(canvas: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Lines and blobs of random colors: edges and corners that belong to no class."""
    size = canvas.shape[0]
    for _ in range(count):
        color = tuple(rng.uniform(0, 255, 3).tolist())
        if rng.random() < 0.5:
            start, stop = _subpixel(rng.uniform(0, size, (2, 2))).tolist()
            cv2.line(canvas, start, stop, color, 1, cv2.LINE_AA, _SUBPIXEL_BITS)
        else:
            center = _subpixel(rng.uniform(0, size, 2)).tolist()
            axes = _subpixel(rng.uniform(0.5, 0.12 * size, 2)).tolist()
            cv2.ellipse(canvas, center, axes, rng.uniform(0, 180), 0, 360, color, -1, cv2.LINE_AA, _SUBPIXEL_BITS)


def generate(
    per_class: int = 300, image_size: int = 32, classes: int = 6, nuisance: float = 0.5, seed: int = 0
) -> ImageDataset:
    """``per_class`` images of each of the first ``classes`` shapes; same seed, same images.

    The images are drawn and noised a chunk at a time, straight into the final
    uint8 array, so making them takes little more memory than keeping them.
    """
    count = per_class * classes
    check_fits(image_bytes(count, image_size, image_size, 3), f"the shapes dataset ({count:,} images of "
               f"{image_size}×{image_size})", "lower per_class or image_size")
    rng = np.random.default_rng(seed)
    noise_rng = np.random.default_rng([seed, _NOISE_STREAM])
    outlines = _unit_outlines()[:classes]
    labels = rng.permutation(np.repeat(np.arange(classes), per_class))
    shape_dark = rng.random(count) < 0.5  # light on dark or dark on light, never the same brightness
    shape_colors = _random_colors(rng, count, shape_dark)
    sides = image_size * rng.uniform(*_SIDE_RANGE, count)
    clutter_counts = rng.poisson(_CLUTTER_PER_NUISANCE * nuisance, count)
    backgrounds = _random_colors(rng, count, ~shape_dark)
    sigma = np.float32(_NOISE_SIGMA[0] + _NOISE_SIGMA[1] * nuisance)
    images = np.empty((count, image_size, image_size, 3), np.uint8)
    chunk = max(1, _CHUNK_BYTES // (image_size * image_size * 3 * 4))
    for start in range(0, count, chunk):
        part = slice(start, min(start + chunk, count))
        canvas = np.empty((part.stop - start, image_size, image_size, 3), np.float32)
        canvas[:] = backgrounds[part, None, None, :]
        masks = np.zeros(canvas.shape[:3], np.uint8)
        for i in range(part.stop - start):
            _clutter(canvas[i], rng, clutter_counts[start + i])
            _fill(masks[i], _place(outlines[labels[start + i]], rng, image_size, sides[start + i]), 255)
        canvas += masks[..., None] / np.float32(255) * (shape_colors[part, None, None, :] - canvas)
        canvas += sigma * noise_rng.standard_normal(canvas.shape, dtype=np.float32)
        np.clip(canvas, 0, 255, out=canvas)
        images[part] = canvas
    return ImageDataset(
        name="shapes",
        images=images,
        labels=labels,
        class_names=SHAPE_NAMES[:classes],
        description=(
            f"{classes} shapes, {per_class} each, {image_size}x{image_size}: random color, "
            f"position, size and rotation; nuisance {nuisance:g}, seed {seed}"
        ),
    )
