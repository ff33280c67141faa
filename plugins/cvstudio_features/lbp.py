"""Uniform Local Binary Patterns (Ojala et al., 2002): a histogram of tiny texture patterns."""

from __future__ import annotations

import numpy as np

from cvstudio.core.features import Explanation, to_gray
from cvstudio_features._common import BatchedExtractor, cell_histograms, grid_cells

# The 8 neighbours at radius 1, in order around the circle, as (dy, dx).
NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
N_PATTERNS = len(NEIGHBOURS) + 2
PATTERN_LABELS = (*(f"{k} brighter" for k in range(len(NEIGHBOURS))), "8 brighter or flat", "irregular")


def _uniform_lookup() -> np.ndarray:
    """Map each 8-bit code to its rotation-invariant uniform pattern: the number of brighter
    neighbours when they form one unbroken arc (at most 2 bit changes around the circle), else 9."""
    bits = (np.arange(256)[:, None] >> np.arange(len(NEIGHBOURS))) & 1
    changes = (bits != np.roll(bits, 1, axis=1)).sum(axis=1)
    return np.where(changes <= 2, bits.sum(axis=1), N_PATTERNS - 1).astype(np.uint8)


UNIFORM = _uniform_lookup()


def lbp_patterns(gray: np.ndarray) -> np.ndarray:
    """Uniform pattern (0..9) of every pixel of (N, H, W) images; borders repeat the edge pixels.

    The neighbours are the 8 surrounding pixels (skimage instead interpolates the diagonal
    ones onto a circle), and "brighter" means not darker, so a flat patch is pattern 8.
    """
    height, width = gray.shape[1:]
    padded = np.pad(gray, ((0, 0), (1, 1), (1, 1)), mode="edge")
    codes = np.zeros(gray.shape, np.uint8)
    for bit, (dy, dx) in enumerate(NEIGHBOURS):
        neighbour = padded[:, 1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
        codes |= (neighbour >= gray).view(np.uint8) << np.uint8(bit)
    return UNIFORM[codes]


class LbpExtractor(BatchedExtractor):
    """Histograms of uniform LBP patterns (P=8, R=1), one per cell of a grid × grid split."""

    def __init__(self, grid: int = 1) -> None:
        self.name = "lbp"
        self.grid = grid

    def output_dim(self, image_shape: tuple[int, int, int]) -> int:
        return self.grid**2 * N_PATTERNS

    def _transform_chunk(self, images: np.ndarray) -> np.ndarray:
        patterns = lbp_patterns(to_gray(images))
        height, width = patterns.shape[1:]
        cells = grid_cells(height, self.grid), grid_cells(width, self.grid)
        counts = cell_histograms(patterns, N_PATTERNS, *cells)
        fractions = counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1)
        return fractions.reshape(len(images), -1)

    def explain(self, image: np.ndarray) -> Explanation:
        patterns = lbp_patterns(to_gray(image[None]))[0]
        fractions = np.bincount(patterns.ravel(), minlength=N_PATTERNS) / patterns.size
        caption = (
            f"LBP: {self.output_dim(image.shape)} numbers — each pixel is compared with its 8 neighbours; "
            "the bars count the kinds of tiny pattern (flat, edge, corner, spot) found"
            + (f" in each of the {self.grid}×{self.grid} regions" if self.grid > 1 else "")
        )
        return Explanation(
            caption=caption,
            image=(patterns / (N_PATTERNS - 1)).astype(np.float32),
            values=fractions.astype(np.float32),
            labels=PATTERN_LABELS,
        )
