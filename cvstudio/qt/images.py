"""numpy images → Qt pixmaps, and channel grids ("mosaics") for feature maps and filters."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap

MAX_MAP_SIDE = 48


def to_pixmap(image: np.ndarray, size: int) -> QPixmap:
    """An (H, W), (H, W, 1) or (H, W, 3) image, uint8 or float in [0, 1], scaled to fit ``size`` pixels.

    Small images are enlarged without smoothing, so their pixels stay visible.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    if image.ndim == 2:
        qimage = QImage(image.data, width, height, width, QImage.Format.Format_Grayscale8)
    else:
        qimage = QImage(image.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    smooth = max(height, width) > size
    mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
    return QPixmap.fromImage(qimage.copy()).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, mode)


def normalize(array: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Scale to [0, 1] over ``axes`` (e.g. per channel), so faint maps are as visible as strong ones."""
    array = array.astype(np.float32, copy=False)
    low = array.min(axis=axes, keepdims=True)
    span = array.max(axis=axes, keepdims=True) - low
    return (array - low) / np.where(span > 1e-12, span, 1.0)


def as_maps(activation: np.ndarray) -> np.ndarray:
    """Any layer output as (C, H, W) tiles: conv maps as they are, vectors and tokens as squares."""
    if activation.ndim == 3:
        step = max(1, math.ceil(max(activation.shape[1:]) / MAX_MAP_SIDE))
        return activation[:, ::step, ::step]
    if activation.ndim == 1:
        activation = activation[None]
    rows = activation.reshape(activation.shape[0], -1)
    side = math.ceil(math.sqrt(rows.shape[1]))
    padded = np.zeros((rows.shape[0], side * side), dtype=np.float32)
    padded[:, : rows.shape[1]] = rows
    return padded.reshape(-1, side, side)


def mosaic(tiles: np.ndarray, gap: int = 2) -> np.ndarray:
    """(N, H, W) or (N, H, W, 3) tiles in a near-square grid with ``gap`` pixels between them."""
    count, height, width = tiles.shape[:3]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    shape = (rows * (height + gap) - gap, columns * (width + gap) - gap, *tiles.shape[3:])
    grid = np.zeros(shape, dtype=np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        grid[r * (height + gap) : r * (height + gap) + height, c * (width + gap) : c * (width + gap) + width] = tile
    return grid


def activation_mosaic(activation: np.ndarray) -> np.ndarray:
    """Every channel of one layer, each scaled to [0, 1], as one grid image."""
    return mosaic(normalize(as_maps(activation), (1, 2)))


def filter_mosaic(filters: np.ndarray) -> np.ndarray:
    """First-layer filters (O, I, kh, kw): RGB tiles for colour input, grey otherwise."""
    if filters.shape[1] == 3:
        return mosaic(normalize(filters.transpose(0, 2, 3, 1), (1, 2, 3)))
    return mosaic(normalize(filters.mean(axis=1), (1, 2)))
