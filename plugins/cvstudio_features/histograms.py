"""Colour histogram: how much of each colour the image holds, wherever it is."""

from __future__ import annotations

import numpy as np

from cvstudio.core.features import Explanation
from cvstudio_features._common import BatchedExtractor, cell_histograms, channel_names


class ColorHistogramExtractor(BatchedExtractor):
    """Per channel, the fraction of pixels in each of ``bins`` equal intensity ranges."""

    def __init__(self, bins: int = 8) -> None:
        self.name = "color-histogram"
        self.bins = bins

    def output_dim(self, image_shape: tuple[int, int, int]) -> int:
        return image_shape[2] * self.bins

    def _transform_chunk(self, images: np.ndarray) -> np.ndarray:
        n, height, width, channels = images.shape
        levels = (images.astype(np.uint16) * self.bins >> 8).astype(np.uint8)
        # Each channel of each image becomes one single-cell "image" of the shared helper.
        per_channel = levels.transpose(0, 3, 1, 2).reshape(n * channels, height, width)
        counts = cell_histograms(per_channel, self.bins, np.zeros(height, np.intp), np.zeros(width, np.intp))
        return counts.reshape(n, channels * self.bins) / (height * width)

    def labels(self, channels: int) -> tuple[str, ...]:
        """Bar names in feature order, such as "R 0-31"."""
        edges = -(-np.arange(self.bins + 1) * 256 // self.bins)  # first level of each bin
        return tuple(
            f"{name} {edges[k]}-{edges[k + 1] - 1}" for name in channel_names(channels) for k in range(self.bins)
        )

    def explain(self, image: np.ndarray) -> Explanation:
        values = self.transform(image[None])[0]
        caption = (
            f"Colour histogram: {len(values)} numbers — the share of pixels in each brightness range "
            "of each channel; where the pixels are is ignored"
        )
        return Explanation(caption=caption, values=values, labels=self.labels(image.shape[2]))
