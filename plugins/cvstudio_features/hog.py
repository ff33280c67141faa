"""Histogram of Oriented Gradients (Dalal & Triggs, 2005), computed for a whole batch at once."""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cvstudio.core.features import Explanation, to_gray
from cvstudio_features._common import BatchedExtractor, orientation_histograms, to_display

EPS = 1e-5  # as skimage, so the two agree on flat blocks too
CLIP = 0.2  # the "Hys" in L2-Hys: no single gradient may dominate a block
GLYPH_MIN_CELL = 16  # the explanation picture gives each cell at least this many pixels,
GLYPH_MIN_SIDE = 192  # and the whole picture at least this many, so glyphs are legible


class HogExtractor(BatchedExtractor):
    """Cells of magnitude-weighted orientation histograms, normalised over overlapping blocks.

    Hard binning of unsigned orientations and L2-Hys block normalisation, matching
    ``skimage.feature.hog`` closely but running on every image of a chunk together.
    """

    def __init__(self, cell_size: int = 8, block_size: int = 2, orientations: int = 9) -> None:
        self.name = "hog"
        self.cell_size = cell_size
        self.block_size = block_size
        self.orientations = orientations

    def _cells(self, image_shape: tuple[int, ...]) -> tuple[int, int]:
        height, width = image_shape[:2]
        rows, cols = height // self.cell_size, width // self.cell_size
        if min(rows, cols) < self.block_size:
            side = self.cell_size * self.block_size
            raise ValueError(
                f"HOG with {self.cell_size}-pixel cells and blocks of {self.block_size} cells needs images "
                f"of at least {side}×{side} pixels, these are {height}×{width}: use smaller cells or blocks"
            )
        return rows, cols

    def output_dim(self, image_shape: tuple[int, int, int]) -> int:
        rows, cols = self._cells(image_shape)
        blocks = (rows - self.block_size + 1) * (cols - self.block_size + 1)
        return blocks * self.block_size**2 * self.orientations

    def cell_histograms(self, images: np.ndarray) -> np.ndarray:
        """Orientation histogram of every cell, (N, rows, cols, orientations), mean magnitude per pixel."""
        rows, cols = self._cells(images.shape[1:])
        size = self.cell_size
        # Pixels past the last whole cell are left out, as in skimage.
        cells = np.arange(rows * size) // size, np.arange(cols * size) // size
        return orientation_histograms(to_gray(images), self.orientations, *cells)[0] / size**2

    def _transform_chunk(self, images: np.ndarray) -> np.ndarray:
        cells = self.cell_histograms(images).astype(np.float32)
        b = self.block_size
        n, rows, cols, bins = cells.shape
        windows = sliding_window_view(cells, (b, b), axis=(1, 2))  # (n, rows', cols', bins, b, b)
        blocks = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n, rows - b + 1, cols - b + 1, b * b * bins)
        blocks = blocks / np.sqrt(np.square(blocks).sum(axis=-1, keepdims=True) + EPS**2)
        np.minimum(blocks, CLIP, out=blocks)
        blocks /= np.sqrt(np.square(blocks).sum(axis=-1, keepdims=True) + EPS**2)
        return blocks.reshape(n, -1)

    def explain(self, image: np.ndarray) -> Explanation:
        cells = self.cell_histograms(image[None])[0]
        rows, cols, _ = cells.shape
        scale = max(math.ceil(GLYPH_MIN_CELL / self.cell_size), math.ceil(GLYPH_MIN_SIDE / max(image.shape[:2])))
        picture = hog_picture(cells, self.cell_size * scale)
        size = self.cell_size
        caption = (
            f"HOG: {self.output_dim(image.shape)} numbers — how strongly edges point in each of "
            f"{self.orientations} directions in each {size}×{size} cell ({rows}×{cols} cells), "
            f"rebalanced over blocks of {self.block_size}×{self.block_size} cells"
        )
        return Explanation(caption=caption, image=picture)


def hog_picture(cells: np.ndarray, glyph_size: int) -> np.ndarray:
    """The classic HOG glyph image: in each cell a star of line segments, one per orientation
    bin, drawn along the edge (across the gradient) and as bright as that bin is strong."""
    rows, cols, bins = cells.shape
    stamps = _orientation_stamps(bins, glyph_size)
    picture = np.einsum("rco,oyx->rycx", to_display(cells), stamps)
    return np.clip(picture.reshape(rows * glyph_size, cols * glyph_size), 0.0, 1.0)


def _orientation_stamps(bins: int, size: int) -> np.ndarray:
    """(bins, size, size) antialiased line segments through the centre, one per bin's middle angle."""
    fixed = 16  # cv2 draws at 1/16-pixel precision with shift=4
    centre = (size - 1) / 2
    radius = size / 2 - 1
    stamps = np.zeros((bins, size, size), np.float32)
    for stamp, angle in zip(stamps, np.pi * (np.arange(bins) + 0.5) / bins):
        # The gradient points at `angle` (y downwards); the edge runs across it.
        dx, dy = -math.sin(angle) * radius, math.cos(angle) * radius
        start = (round((centre - dx) * fixed), round((centre - dy) * fixed))
        end = (round((centre + dx) * fixed), round((centre + dy) * fixed))
        cv2.line(stamp, start, end, 1.0, 1, cv2.LINE_AA, shift=4)
    return stamps
