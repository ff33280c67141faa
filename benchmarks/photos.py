"""Folders of generated photographs for the benchmarks that read images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_photos(folder: Path, count: int, height: int = 960, width: int = 1280) -> list[Path]:
    """Smooth pictures with grain, as photographs are, saved as JPEGs of quality 90."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:height, 0:width]
    for i in range(count):
        planes = [(cols * (k + 1) / (i + 3) + rows / (k + 2)) % 256 for k in range(3)]
        smooth = cv2.GaussianBlur(np.stack(planes, -1).astype(np.uint8), (0, 0), 3)
        picture = cv2.add(smooth, rng.integers(0, 30, smooth.shape, dtype=np.uint8))
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return sorted(folder.iterdir())
