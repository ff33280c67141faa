"""Pictures for run directories: layer maps, heat-map overlays and PNG files, without Qt."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

MIN_SIDE = 256
ROW_LIMIT = 32


def normalized(array: np.ndarray) -> np.ndarray:
    """Scaled to [0, 1], so a faint map is as visible as a strong one."""
    array = np.asarray(array, dtype=np.float32)
    low, span = array.min(), array.max() - array.min()
    return (array - low) / span if span > 1e-12 else np.zeros_like(array)


def layer_picture(activation: np.ndarray, limit: int = 16) -> np.ndarray:
    """One layer's output for one image as a grey picture in [0, 1]: conv maps (C, H, W) side by side
    (the first ``limit``, each scaled on its own), tokens (T, D) as rows, a vector (D,) as one row
    (e.g. class scores) or, when long, as a square filled row by row (the rest of its last row blank)."""
    from skimage.util import montage

    if activation.ndim == 3:
        maps = np.stack([normalized(m) for m in activation[:limit]])
        return montage(maps, padding_width=1, fill=1.0)
    if activation.ndim == 2:
        return normalized(activation)
    values = normalized(activation)
    width = len(values) if len(values) <= ROW_LIMIT else math.ceil(math.sqrt(len(values)))
    rows = math.ceil(len(values) / width)
    return np.pad(values, (0, rows * width - len(values))).reshape(rows, width)


def colorize(picture: np.ndarray, colormap: str = "viridis") -> np.ndarray:
    """A grey picture in [0, 1] as an RGB uint8 image in a perceptual colormap."""
    import cv2

    code = {"viridis": cv2.COLORMAP_VIRIDIS, "inferno": cv2.COLORMAP_INFERNO, "jet": cv2.COLORMAP_JET}[colormap]
    grey = (np.clip(picture, 0, 1) * 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(grey, code), cv2.COLOR_BGR2RGB)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Any (H, W), (H, W, 1) or (H, W, 3) image, uint8 or float in [0, 1], as RGB uint8."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """A heat map (H, W) in [0, 1] laid over an image of the same size, as RGB uint8."""
    blend = (1 - alpha) * as_rgb(image).astype(np.float32) + alpha * colorize(heatmap, "jet").astype(np.float32)
    return blend.astype(np.uint8)


def save_png(path: Path, image: np.ndarray) -> None:
    """Write an image as PNG, enlarged without smoothing to at least MIN_SIDE pixels so small images stay sharp."""
    import cv2

    rgb = as_rgb(image)
    scale = max(1, math.ceil(MIN_SIDE / max(rgb.shape[:2])))
    rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write the picture {path}")
