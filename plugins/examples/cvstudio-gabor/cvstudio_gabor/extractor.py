"""Gabor filter-bank energies pooled over a grid of cells."""

from __future__ import annotations

import math

import cv2
import numpy as np

from cvstudio.core.features import Explanation, FeatureExtractor, to_gray

FIRST_WAVELENGTH = 3.0
ASPECT = 0.5  # ellipticity of the Gaussian window: waves longer along their crests than across


def gabor_bank(orientations: int, wavelengths: int) -> list[np.ndarray]:
    """Zero-mean kernels, finest scale first; within a scale, angles from 0 (vertical stripes) upwards."""
    kernels = []
    for scale in range(wavelengths):
        wavelength = FIRST_WAVELENGTH * math.sqrt(2) ** scale
        sigma = 0.56 * wavelength  # a bandwidth of one octave
        size = 2 * math.ceil(2.5 * sigma) + 1
        for i in range(orientations):
            theta = math.pi * i / orientations
            kernel = cv2.getGaborKernel((size, size), sigma, theta, wavelength, ASPECT, 0, ktype=cv2.CV_32F)
            kernel -= kernel.mean()  # flat regions give no answer, whatever their brightness
            kernels.append(kernel / np.abs(kernel).sum())
    return kernels


class GaborExtractor(FeatureExtractor):
    def __init__(self, orientations: int, wavelengths: int, grid: int) -> None:
        self.name = "gabor"
        self.orientations = orientations
        self.grid = grid
        self.kernels = gabor_bank(orientations, wavelengths)

    def output_dim(self, image_shape: tuple[int, int, int]) -> int:
        return len(self.kernels) * self.grid * self.grid

    def energies(self, gray: np.ndarray) -> np.ndarray:
        """(H, W) float image → (filters, H, W) absolute responses."""
        responses = [cv2.filter2D(gray, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT) for k in self.kernels]
        return np.abs(np.stack(responses))

    def transform(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W, C) uint8 → (N, filters × grid × grid): mean energy of each filter in each cell."""
        gray = to_gray(images)
        n, height, width = gray.shape
        g, k = self.grid, len(self.kernels)
        features = np.empty((n, k, g, g), np.float32)
        for i in range(n):
            energy = self.energies(np.ascontiguousarray(gray[i]))
            cells = energy[:, : height // g * g, : width // g * g].reshape(k, g, height // g, g, width // g)
            features[i] = cells.mean(axis=(2, 4))
        return features.reshape(n, -1)

    def explain(self, image: np.ndarray) -> Explanation:
        energy = self.energies(np.ascontiguousarray(to_gray(image[None])[0]))
        strongest = energy.max(axis=0)
        return Explanation(
            caption=(
                f"Gabor energy: where the image has stripes or edges at one of the {len(self.kernels)} filters' "
                "angles and scales (bright = strong answer)"
            ),
            image=strongest / max(float(strongest.max()), 1e-6),
        )
