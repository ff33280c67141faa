"""Colour moments: the mean, spread and lopsidedness of each channel's values."""

from __future__ import annotations

import numpy as np

from cvstudio.core.features import Explanation
from cvstudio_features._common import BatchedExtractor, channel_names

STATISTICS = ("mean", "std", "skew")


class ColorMomentsExtractor(BatchedExtractor):
    """Per channel of [0, 1] intensities: mean, standard deviation and skewness (0 for a flat channel).

    Features are grouped by statistic (all means, then all stds, then all skews), so
    bars of the same scale stand together.
    """

    def __init__(self) -> None:
        self.name = "color-moments"

    def output_dim(self, image_shape: tuple[int, int, int]) -> int:
        return len(STATISTICS) * image_shape[2]

    def _transform_chunk(self, images: np.ndarray) -> np.ndarray:
        n, channels = len(images), images.shape[3]
        # One contiguous row per channel, so the reductions below run over contiguous memory.
        values = images.transpose(0, 3, 1, 2).reshape(n, channels, -1).astype(np.float32, order="C")
        values *= 1 / 255
        mean = values.mean(axis=-1, keepdims=True)
        values -= mean
        power = np.square(values)
        std = np.sqrt(power.mean(axis=-1))
        power *= values
        skew = np.divide(power.mean(axis=-1), std**3, out=np.zeros_like(std), where=std > 1e-6)
        return np.concatenate([mean[..., 0], std, skew], axis=1)

    def explain(self, image: np.ndarray) -> Explanation:
        values = self.transform(image[None])[0]
        names = channel_names(image.shape[2])
        caption = (
            f"Colour moments: {len(values)} numbers — per channel, the average brightness, how much it "
            "varies, and whether it leans to dark or bright (skew)"
        )
        labels = tuple(f"{stat} {name}" for stat in STATISTICS for name in names)
        return Explanation(caption=caption, values=values, labels=labels)
