"""The built-in feature extractors: shapes, determinism, explanations, and what each one sees."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from skimage.feature import hog as skimage_hog

import cvstudio_features
from cvstudio.core.features import Explanation, FeatureExtractor, to_gray
from cvstudio.specs import FeatureExtractorSpec
from cvstudio_features.bag_of_words import SiftBagOfWords
from cvstudio_features.edges import EdgeHistogramExtractor
from cvstudio_features.histograms import ColorHistogramExtractor
from cvstudio_features.hog import HogExtractor
from cvstudio_features.lbp import LbpExtractor
from cvstudio_features.moments import ColorMomentsExtractor
from cvstudio_features.raw_pixels import RawPixelsExtractor, area_weights

SHAPES = [(32, 32, 1), (32, 32, 3), (64, 64, 1), (64, 64, 3)]
EXTRACTORS = {
    "raw-pixels": RawPixelsExtractor,
    "color-histogram": ColorHistogramExtractor,
    "color-moments": ColorMomentsExtractor,
    "hog": HogExtractor,
    "lbp": LbpExtractor,
    "edge-histogram": EdgeHistogramExtractor,
    "sift-bow": lambda: SiftBagOfWords(vocabulary=16),
}


def random_images(shape: tuple[int, int, int], n: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)


def shapes_images(shape: tuple[int, int, int]) -> np.ndarray:
    """Simple synthetic scenes: a bright square, a gradient, stripes, a flat image."""
    height, width, channels = shape
    y, x = np.mgrid[:height, :width]
    square = ((abs(y - height / 2) < height / 4) & (abs(x - width / 2) < width / 4)) * 255
    scenes = [square, x * 255 // (width - 1), (y // 4 % 2) * 255, np.full((height, width), 128)]
    return np.repeat(np.stack(scenes).astype(np.uint8)[..., None], channels, axis=-1)


def stripes(shape: tuple[int, int, int], horizontal: bool) -> np.ndarray:
    height, width, channels = shape
    y, x = np.mgrid[:height, :width]
    pattern = ((y if horizontal else x) // 3 % 2 * 255).astype(np.uint8)
    return np.repeat(pattern[None, ..., None], channels, axis=-1)


def fitted(name: str, images: np.ndarray) -> FeatureExtractor:
    return EXTRACTORS[name]().fit(images)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", EXTRACTORS)
def test_shape_dtype_finite_and_deterministic(name: str, shape: tuple[int, int, int]) -> None:
    images = np.concatenate([random_images(shape), shapes_images(shape)])
    extractor = fitted(name, images)
    features = extractor.transform(images)
    assert features.shape == (len(images), extractor.output_dim(shape))
    assert features.dtype == np.float32
    assert np.isfinite(features).all()
    np.testing.assert_array_equal(features, fitted(name, images).transform(images))
    # A batch gives each image the features it gets on its own.
    np.testing.assert_allclose(features[3:4], extractor.transform(images[3:4]), atol=1e-6)


@pytest.mark.parametrize("shape", [(32, 32, 3), (64, 64, 1)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", EXTRACTORS)
def test_explain_gives_a_picture_or_bars(name: str, shape: tuple[int, int, int]) -> None:
    images = shapes_images(shape)
    explanation = fitted(name, np.concatenate([images, random_images(shape)])).explain(images[0])
    assert isinstance(explanation, Explanation)
    assert explanation.caption
    assert explanation.image is not None or explanation.values is not None
    if explanation.image is not None:
        assert explanation.image.ndim == 2 or explanation.image.shape[2] == 3
        assert np.isfinite(explanation.image).all()
    if explanation.values is not None:
        assert len(explanation.labels) == len(explanation.values)


def test_chunked_batches_match_single_images() -> None:
    images = random_images((32, 32, 3), n=70)  # more than one chunk at a small chunk size
    extractor = HogExtractor()
    extractor.chunk_pixels = 32 * 32 * 16
    whole = extractor.transform(images)
    np.testing.assert_allclose(whole[65], extractor.transform(images[65:66])[0], atol=1e-6)
    assert extractor.transform(images[:0]).shape == (0, extractor.output_dim((32, 32, 3)))


def test_bad_batches_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="uint8"):
        LbpExtractor().transform(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="C = 1 or 3"):
        LbpExtractor().transform(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="at least 64×64"):
        HogExtractor(cell_size=32).output_dim((32, 32, 1))


@pytest.mark.parametrize("size", [32, 64])
def test_hog_matches_skimage(size: int) -> None:
    images = np.concatenate([shapes_images((size, size, 3)), random_images((size, size, 3), n=3)])
    ours = HogExtractor().transform(images)
    for image, features in zip(to_gray(images), ours):
        reference = skimage_hog(
            image, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), block_norm="L2-Hys"
        )
        assert features.shape == reference.shape
        assert np.abs(features - reference).max() < 0.05
        if reference.any():
            assert np.corrcoef(features, reference)[0, 1] > 0.99


def test_hog_matches_skimage_with_other_settings_and_uneven_cells() -> None:
    images = random_images((30, 27, 1), n=2)
    ours = HogExtractor(cell_size=6, block_size=3, orientations=12).transform(images)
    for image, features in zip(to_gray(images), ours):
        reference = skimage_hog(image, orientations=12, pixels_per_cell=(6, 6), cells_per_block=(3, 3))
        assert np.corrcoef(features, reference)[0, 1] > 0.99


def test_hog_tells_horizontal_from_vertical_stripes() -> None:
    extractor = HogExtractor()
    cells = extractor.cell_histograms(np.concatenate([stripes((32, 32, 1), True), stripes((32, 32, 1), False)]))
    totals = cells.sum(axis=(1, 2))
    # Horizontal stripes change brightness vertically (90°, bin 4); vertical ones horizontally (0°, bin 0).
    assert totals[0].argmax() == 4 and totals[1].argmax() == 0
    features = extractor.transform(np.concatenate([stripes((32, 32, 1), True), stripes((32, 32, 1), False)]))
    assert np.abs(features[0] - features[1]).sum() > 1


def test_hog_picture_draws_a_glyph_per_cell() -> None:
    explanation = HogExtractor().explain(stripes((32, 32, 3), True)[0])
    assert explanation.image.shape == (192, 192)
    assert 0 <= explanation.image.min() and explanation.image.max() == pytest.approx(1.0)
    assert "HOG: 324 numbers" in explanation.caption


def test_color_histogram_tells_red_from_blue() -> None:
    red = np.zeros((1, 32, 32, 3), np.uint8)
    red[..., 0] = 255
    blue = red[..., ::-1].copy()
    extractor = ColorHistogramExtractor(bins=8)
    features = extractor.transform(np.concatenate([red, blue]))
    assert not np.allclose(features[0], features[1])
    labels = extractor.labels(3)
    assert features[0][labels.index("R 224-255")] == 1.0 and features[1][labels.index("B 224-255")] == 1.0
    assert labels[0] == "R 0-31" and len(labels) == 24
    np.testing.assert_allclose(features.reshape(2, 3, 8).sum(axis=-1), 1.0)


def test_color_moments_of_known_values() -> None:
    image = np.zeros((1, 2, 2, 1), np.uint8)
    image[0, 0, 0] = 255  # values 1, 0, 0, 0: mean 1/4, std √3/4, skew 2/√3
    mean, std, skew = ColorMomentsExtractor().transform(image)[0]
    assert mean == pytest.approx(0.25)
    assert std == pytest.approx(np.sqrt(3) / 4)
    assert skew == pytest.approx(2 / np.sqrt(3), rel=1e-4)
    flat = ColorMomentsExtractor().transform(np.full((1, 4, 4, 3), 7, np.uint8))[0]
    assert flat[6:].tolist() == [0, 0, 0]


def test_lbp_of_a_constant_image_is_one_pattern() -> None:
    for grid in (1, 2):
        features = LbpExtractor(grid=grid).transform(np.full((1, 32, 32, 3), 90, np.uint8))[0]
        assert features.shape == (10 * grid**2,)
        np.testing.assert_allclose(features.reshape(grid**2, 10).max(axis=1), 1.0)
        assert np.count_nonzero(features) == grid**2


def test_edge_histogram_sees_stripe_direction_and_density() -> None:
    extractor = EdgeHistogramExtractor(bins=4, grid=1)
    flat_image = np.zeros((1, 32, 32, 1), np.uint8)
    horizontal, vertical, flat = extractor.transform(
        np.concatenate([stripes((32, 32, 1), True), stripes((32, 32, 1), False), flat_image])
    )
    assert horizontal[:4].argmax() == 2 and vertical[:4].argmax() == 0
    assert horizontal[4] > 0.3 and flat.tolist() == [0] * 5


def test_raw_pixels_resizes_by_averaging() -> None:
    np.testing.assert_allclose(area_weights(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    image = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1) * 10
    small = RawPixelsExtractor(size=2).transform(image)[0]
    np.testing.assert_allclose(small * 255, [25, 45, 105, 125], rtol=1e-5)
    gray = RawPixelsExtractor(size=8, grayscale=True)
    assert gray.transform(random_images((32, 32, 3))).shape == (6, 64) == (6, gray.output_dim((32, 32, 3)))


def test_bag_of_words_needs_fit_first() -> None:
    with pytest.raises(RuntimeError, match="call fit"):
        SiftBagOfWords().transform(random_images((32, 32, 3)))
    unfitted = SiftBagOfWords().explain(random_images((32, 32, 3))[0])  # still shows the patches
    assert unfitted.image.shape == (192, 192, 3) and unfitted.values is None


def test_bag_of_words_histograms_and_detected_keypoints() -> None:
    images = np.concatenate([random_images((32, 32, 3), n=4), shapes_images((32, 32, 3))])
    dense = SiftBagOfWords(vocabulary=8).fit(images)
    np.testing.assert_allclose(dense.transform(images).sum(axis=1), 1.0, rtol=1e-5)
    detected = SiftBagOfWords(vocabulary=8, keypoints="detected").fit(images)
    assert np.isfinite(detected.transform(images)).all()
    with pytest.raises(ValueError, match="smaller vocabulary"):
        SiftBagOfWords(vocabulary=1024).fit(images[:1])


def test_registered_specs_build_every_extractor() -> None:
    specs = cvstudio_features.cvstudio_register_feature_extractors()
    assert {spec.name for spec in specs} == set(EXTRACTORS)
    for spec in specs:
        assert isinstance(spec, FeatureExtractorSpec) and spec.description
        extractor = spec.create()
        assert isinstance(extractor, FeatureExtractor) and extractor.name == spec.name


def test_listing_the_specs_imports_nothing_heavy() -> None:
    code = (
        "import sys, cvstudio_features; cvstudio_features.cvstudio_register_feature_extractors(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'cv2', 'skimage', 'sklearn', 'torch', 'scipy'}))"
    )
    listed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert listed.stdout.strip() == "[]"


@pytest.mark.parametrize("name", EXTRACTORS)
def test_fitted_extractors_survive_pickling(name: str) -> None:
    images = random_images((32, 32, 3))
    extractor = fitted(name, images)
    restored = pickle.loads(pickle.dumps(extractor))
    np.testing.assert_array_equal(restored.transform(images), extractor.transform(images))
