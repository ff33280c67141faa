"""Raw pixels: the baseline every other feature has to beat."""

from __future__ import annotations

import numpy as np

from cvstudio.core.features import Explanation, to_gray
from cvstudio_features._common import BatchedExtractor


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix averaging the input pixels each output pixel covers, like cv2's
    INTER_AREA; applied along rows then columns it resizes a whole batch in two matrix products."""
    bounds = np.arange(n_out + 1) * (n_in / n_out)
    starts, ends = bounds[:-1, None], bounds[1:, None]
    pixels = np.arange(n_in)
    overlap = np.clip(np.minimum(ends, pixels + 1) - np.maximum(starts, pixels), 0, None)
    return (overlap / (n_in / n_out)).astype(np.float32)


class RawPixelsExtractor(BatchedExtractor):
    """The image shrunk to ``size``×``size``, in [0, 1], flattened (optionally grey first)."""

    def __init__(self, size: int = 16, grayscale: bool = False) -> None:
        self.name = "raw-pixels"
        self.size = size
        self.grayscale = grayscale

    def output_dim(self, image_shape: tuple[int, int, int]) -> int:
        channels = 1 if self.grayscale else image_shape[2]
        return self.size**2 * channels

    def small_images(self, images: np.ndarray) -> np.ndarray:
        """The batch resized to (N, size, size, C) floats in [0, 1]."""
        values = to_gray(images)[..., None] if self.grayscale else images.astype(np.float32) / 255.0
        n, height, width, channels = values.shape
        rows = area_weights(height, self.size) @ values.reshape(n, height, width * channels)
        return area_weights(width, self.size) @ rows.reshape(n, self.size, width, channels)

    def _transform_chunk(self, images: np.ndarray) -> np.ndarray:
        return self.small_images(images).reshape(len(images), -1)

    def explain(self, image: np.ndarray) -> Explanation:
        small = self.small_images(image[None])[0]
        caption = (
            f"Raw pixels: {small.size} numbers — the image shrunk to {self.size}×{self.size}; "
            "each pixel's brightness is one number, so shifting the object changes them all"
        )
        picture = np.clip(small if small.shape[2] == 3 else small[..., 0], 0.0, 1.0)
        return Explanation(caption=caption, image=picture)
