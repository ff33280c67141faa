"""Hand-crafted feature extractors: the base class and their combination.

An extractor turns a batch of uint8 images (N, H, W, C) into a float32 matrix
(N, D), and can explain itself on one image with a picture or a histogram,
so a learner sees what the classifier is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Explanation:
    """What an extractor computes for one image.

    ``image`` is a picture (H, W) or (H, W, 3), float in [0, 1] or uint8;
    ``values`` with ``labels`` is a histogram to draw as bars. Either or both.
    """

    caption: str
    image: np.ndarray | None = None
    values: np.ndarray | None = None
    labels: tuple[str, ...] = field(default=())


class FeatureExtractor:
    """Base class: override :meth:`output_dim` and :meth:`transform`.

    Extractors that learn from data (e.g. a visual vocabulary) also override
    :meth:`fit`, which is called with the training images only.
    """

    name: str = "feature"

    def fit(self, images: np.ndarray) -> FeatureExtractor:
        """Learn from the training images (N, H, W, C) uint8, if the extractor needs to; returns itself."""
        return self

    def output_dim(self, image_shape: tuple[int, int, int]) -> int:
        """Length of the feature vector for images of shape (H, W, C)."""
        raise NotImplementedError

    def transform(self, images: np.ndarray) -> np.ndarray:
        """Features of a batch (N, H, W, C) uint8 as a (N, D) float32 array."""
        raise NotImplementedError

    def explain(self, image: np.ndarray) -> Explanation:
        """A picture or histogram of what this extractor sees in one (H, W, C) image."""
        values = self.transform(image[None])[0]
        return Explanation(caption=f"{self.name}: {len(values)} numbers", values=values)


class CombinedFeatures(FeatureExtractor):
    """Several extractors side by side: their vectors concatenated."""

    def __init__(self, extractors: Sequence[FeatureExtractor]) -> None:
        if not extractors:
            raise ValueError("choose at least one feature extractor")
        self.extractors = list(extractors)
        self.name = " + ".join(e.name for e in self.extractors)

    def fit(self, images: np.ndarray) -> CombinedFeatures:
        for extractor in self.extractors:
            extractor.fit(images)
        return self

    def output_dim(self, image_shape: tuple[int, int, int]) -> int:
        return sum(e.output_dim(image_shape) for e in self.extractors)

    def transform(self, images: np.ndarray) -> np.ndarray:
        return np.concatenate([e.transform(images) for e in self.extractors], axis=1)


def to_gray(images: np.ndarray) -> np.ndarray:
    """(N, H, W, C) uint8 → (N, H, W) float32 luminance in [0, 1]."""
    if images.shape[-1] == 1:
        return images[..., 0].astype(np.float32) / 255.0
    # Scaling the weights, not the image, saves a full-size temporary array.
    return images.astype(np.float32) @ (np.array([0.299, 0.587, 0.114], dtype=np.float32) / 255.0)
