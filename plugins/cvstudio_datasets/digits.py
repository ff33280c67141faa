"""scikit-learn's bundled 8×8 handwritten digits: real data that needs no download."""

from __future__ import annotations

import cv2
import numpy as np
from sklearn.datasets import load_digits

from cvstudio.core.data import ImageDataset


def load(upscale: int = 4) -> ImageDataset:
    """The 1,797 digits as uint8 grey images, enlarged ``upscale`` times (bilinear)."""
    bunch = load_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)
    if upscale > 1:
        size = images.shape[1] * upscale
        images = np.stack([cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR) for image in images])
    return ImageDataset(
        name="digits",
        images=images,
        labels=bunch.target,
        class_names=tuple(str(digit) for digit in range(10)),
        description=f"scikit-learn handwritten digits, 8×8 enlarged {upscale}× to {images.shape[1]}×{images.shape[1]}",
    )
