"""Bag of visual words (Csurka et al., 2004) over SIFT descriptors."""

from __future__ import annotations

import math

import cv2
import numpy as np
from sklearn.cluster import MiniBatchKMeans
from threadpoolctl import threadpool_limits

from cvstudio.core.features import Explanation, FeatureExtractor
from cvstudio_features._common import check_images

GRID = 8  # dense patches sit at 1/8 .. 7/8 of each side: 7×7 = 49 on a square image
FIT_IMAGES = 2000  # the vocabulary is learnt from at most this many training images,
FIT_DESCRIPTORS = 20_000  # and this many of their descriptors
PICTURE_MIN_SIDE = 192  # explanation pictures are enlarged so circles are visible
NO_DESCRIPTORS = np.zeros((0, 128), np.float32)


class SiftBagOfWords(FeatureExtractor):
    """SIFT descriptors of image patches, each replaced by its nearest "visual word" (a k-means
    centre learnt from training descriptors); the feature is the normalised word histogram.

    ``keypoints="dense"`` describes a fixed grid of overlapping patches, robust on tiny images
    where the SIFT detector finds few or no keypoints; ``"detected"`` uses the detector and
    falls back to the grid for images where it finds nothing.
    """

    def __init__(self, vocabulary: int = 64, keypoints: str = "dense", seed: int = 0) -> None:
        if keypoints not in ("dense", "detected"):
            raise ValueError(f"keypoints must be 'dense' or 'detected', got {keypoints!r}")
        self.name = "sift-bow"
        self.vocabulary = vocabulary
        self.keypoints = keypoints
        self.seed = seed
        self.kmeans: MiniBatchKMeans | None = None

    def output_dim(self, image_shape: tuple[int, int, int]) -> int:
        return self.vocabulary

    def describe(self, image: np.ndarray) -> tuple[list[cv2.KeyPoint], np.ndarray]:
        """Keypoints of one (H, W, C) uint8 image and their (K, 128) float32 SIFT descriptors."""
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.shape[2] == 3 else image[..., 0]
        sift = cv2.SIFT_create()
        keypoints = sift.detect(gray, None) if self.keypoints == "detected" else ()
        keypoints, descriptors = sift.compute(gray, keypoints or dense_keypoints(gray.shape))
        if descriptors is None:
            return [], NO_DESCRIPTORS
        return list(keypoints), descriptors

    def fit(self, images: np.ndarray) -> SiftBagOfWords:
        images = check_images(images)
        rng = np.random.default_rng(self.seed)
        if len(images) > FIT_IMAGES:
            images = images[np.sort(rng.choice(len(images), FIT_IMAGES, replace=False))]
        descriptors = np.concatenate([NO_DESCRIPTORS, *(self.describe(image)[1] for image in images)])
        if len(descriptors) > FIT_DESCRIPTORS:
            descriptors = descriptors[rng.choice(len(descriptors), FIT_DESCRIPTORS, replace=False)]
        if len(descriptors) < self.vocabulary:
            raise ValueError(
                f"a vocabulary of {self.vocabulary} words needs at least as many descriptors, the "
                f"training images gave {len(descriptors)}: use a smaller vocabulary or more images"
            )
        kmeans = MiniBatchKMeans(self.vocabulary, random_state=self.seed, n_init=3, batch_size=2048)
        with threadpool_limits(1):  # see _nearest_words
            self.kmeans = kmeans.fit(descriptors)
        return self

    def _nearest_words(self, descriptors: np.ndarray) -> np.ndarray:
        """Index of the visual word nearest to each descriptor (once fitted)."""
        if len(descriptors) == 0:
            return np.zeros(0, np.intp)
        # One thread: k-means on this scale is quick on one core, while OpenMP and BLAS threads
        # slow it down tens of times when the cores are busy (say, training a network alongside).
        with threadpool_limits(1):
            return self.kmeans.predict(descriptors)

    def transform(self, images: np.ndarray) -> np.ndarray:
        images = check_images(images)
        if self.kmeans is None:
            raise RuntimeError("sift-bow has no vocabulary yet: call fit(training_images) before transform")
        descriptors = [self.describe(image)[1] for image in images]
        owners = np.repeat(np.arange(len(images)), [len(d) for d in descriptors])
        words = self._nearest_words(np.concatenate([NO_DESCRIPTORS, *descriptors]))
        counts = np.bincount(owners * self.vocabulary + words, minlength=len(images) * self.vocabulary)
        counts = counts.reshape(len(images), self.vocabulary)
        return (counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)).astype(np.float32)

    def explain(self, image: np.ndarray) -> Explanation:
        keypoints, descriptors = self.describe(image)
        scale = max(1, math.ceil(PICTURE_MIN_SIDE / max(image.shape[:2])))
        picture = image if image.shape[2] == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        fitted = self.kmeans is not None
        if fitted:
            colours = word_colours(self.vocabulary)[self._nearest_words(descriptors)].tolist()
        else:
            colours = [(255, 255, 255)] * len(keypoints)
        for keypoint, colour in zip(keypoints, colours):
            centre = (round(keypoint.pt[0] * scale), round(keypoint.pt[1] * scale))
            # A SIFT descriptor spans 6 keypoint sizes; the circle marks the patch it describes.
            cv2.circle(picture, centre, max(1, round(3 * keypoint.size * scale)), colour, 1, cv2.LINE_AA)
        n, words = len(keypoints), self.vocabulary
        if not fitted:
            caption = (
                f"Bag of words: {n} SIFT patches (circles); once trained, each is matched to one of "
                f"{words} visual words and the {words} numbers count how often each word appears"
            )
            return Explanation(caption=caption, image=picture)
        caption = (
            f"Bag of words: {n} SIFT patches, each coloured by the nearest of {words} visual words; "
            f"the {words} numbers count how often each word appears, wherever it is"
        )
        values = self.transform(image[None])[0]
        labels = tuple(f"word {k}" for k in range(words))
        return Explanation(caption=caption, image=picture, values=values, labels=labels)


def dense_keypoints(shape: tuple[int, int]) -> list[cv2.KeyPoint]:
    """A (GRID-1) × (GRID-1) lattice of keypoints, each describing a patch 2/GRID of the image
    wide, so neighbouring patches overlap by half."""
    height, width = shape
    patch = 2 * min(height, width) / GRID
    return [
        cv2.KeyPoint(width * col / GRID, height * row / GRID, patch / 6)  # SIFT spans 6× the size
        for row in range(1, GRID)
        for col in range(1, GRID)
    ]


def word_colours(words: int) -> np.ndarray:
    """One distinct, saturated RGB colour per visual word, spread around the hue circle."""
    hues = (np.arange(words) * 180 // words).astype(np.uint8)
    hsv = np.stack([hues, np.full_like(hues, 255), np.full_like(hues, 255)], axis=-1)[:, None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[:, 0]
