"""Edge orientation histogram: which way the edges run, and how many there are, region by region."""

from __future__ import annotations

import numpy as np

from cvstudio.core.features import Explanation, to_gray
from cvstudio_features._common import (
    BatchedExtractor,
    cell_histograms,
    central_gradients,
    grid_cells,
    orientation_histograms,
    to_display,
)


class EdgeHistogramExtractor(BatchedExtractor):
    """Per grid cell: the magnitude-weighted histogram of unsigned gradient orientations (summing
    to 1), then the edge density, the fraction of pixels whose gradient exceeds ``threshold``."""

    def __init__(self, bins: int = 8, grid: int = 2, threshold: float = 0.1) -> None:
        self.name = "edge-histogram"
        self.bins = bins
        self.grid = grid
        self.threshold = threshold

    def output_dim(self, image_shape: tuple[int, int, int]) -> int:
        return self.grid**2 * (self.bins + 1)

    def _transform_chunk(self, images: np.ndarray) -> np.ndarray:
        gray = to_gray(images)
        cells = grid_cells(gray.shape[1], self.grid), grid_cells(gray.shape[2], self.grid)
        strength, magnitude = orientation_histograms(gray, self.bins, *cells)
        directions = strength / np.maximum(strength.sum(axis=-1, keepdims=True), 1e-12)
        edge_counts = cell_histograms((magnitude > self.threshold).view(np.uint8), 2, *cells)
        density = edge_counts[..., 1:] / np.maximum(edge_counts.sum(axis=-1, keepdims=True), 1)
        return np.concatenate([directions, density], axis=-1).reshape(len(images), -1)

    def labels(self) -> tuple[str, ...]:
        """Bar names in feature order: each cell's angle ranges, then its density."""
        width = 180 / self.bins
        per_cell = [f"{k * width:.0f}-{(k + 1) * width:.0f}°" for k in range(self.bins)] + ["edges"]
        return tuple(
            f"({row},{col}) {name}" for row in range(self.grid) for col in range(self.grid) for name in per_cell
        )

    def explain(self, image: np.ndarray) -> Explanation:
        gx, gy = central_gradients(to_gray(image[None]))
        caption = (
            f"Edges: {self.output_dim(image.shape)} numbers — for each of the {self.grid}×{self.grid} "
            f"regions, how much the brightness changes in each of {self.bins} directions, and what "
            "share of it is edge"
        )
        return Explanation(
            caption=caption,
            image=to_display(np.hypot(gx, gy)[0]),
            values=self.transform(image[None])[0],
            labels=self.labels(),
        )
