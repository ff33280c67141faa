"""The Gabor example, tested as any third-party plugin: with the fixtures and checks cvstudio ships."""

import numpy as np
import pytest

import cvstudio_gabor
from cvstudio.testing import check_feature_extractor, make_tiny_dataset


@pytest.fixture
def spec(cvstudio_registry_with):
    registry = cvstudio_registry_with(cvstudio_gabor)
    assert not registry.errors
    return registry.get("feature_extractors", "gabor")


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("params", [{}, {"orientations": 6, "wavelengths": 3, "grid": 3}])
def test_passes_the_feature_extractor_contract(spec, channels, params):
    check_feature_extractor(spec, make_tiny_dataset(per_class=4, size=32, channels=channels), **params)


def stripes(direction: str, period: int = 3, size: int = 32) -> np.ndarray:
    rows, cols = np.mgrid[:size, :size]
    wave = cols if direction == "vertical" else rows
    return ((np.sin(2 * np.pi * wave / period) > 0) * 200 + 20).astype(np.uint8)[None, ..., None]


@pytest.mark.parametrize("direction, strongest", [("vertical", 0), ("horizontal", 2)])
def test_the_filter_at_the_stripes_angle_answers_most(spec, direction, strongest):
    extractor = spec.create(orientations=4, wavelengths=1, grid=1)
    energies = extractor.transform(stripes(direction))[0]
    assert energies.argmax() == strongest
    assert energies[strongest] > 3 * energies[(strongest + 2) % 4]


def test_a_flat_image_gives_no_answer(spec):
    flat = np.full((1, 32, 32, 3), 128, np.uint8)
    assert np.allclose(spec.create().transform(flat), 0, atol=1e-5)
