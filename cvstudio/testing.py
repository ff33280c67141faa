"""Pytest fixtures shipped with cvstudio, for its own tests and for plugin authors.

Installed as a ``pytest11`` plugin: any project that has cvstudio installed
can use these fixtures without importing anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pytest

from cvstudio.core.data import ImageDataset
from cvstudio.plugins import Registry, load_registry
from cvstudio.specs import ClassifierSpec, DatasetSpec, FeatureExtractorSpec, ModelSpec


def make_tiny_dataset(
    classes: int = 3, per_class: int = 12, size: int = 16, channels: int = 3, seed: int = 0
) -> ImageDataset:
    """Small learnable images: each class brightens a different horizontal band."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), per_class)
    images = rng.integers(0, 60, size=(len(labels), size, size, channels), dtype=np.uint8)
    band = size // classes
    for i, label in enumerate(labels):
        images[i, label * band : (label + 1) * band] += 150
    return ImageDataset("tiny", images, labels, tuple(f"class {c}" for c in range(classes)))


@pytest.fixture
def cvstudio_registry() -> Registry:
    """A fresh registry of the built-in plugins only (no third-party autoload)."""
    return load_registry(autoload=False)


@pytest.fixture
def cvstudio_registry_with() -> Callable[..., Registry]:
    """Build a fresh built-ins registry plus the given plugin modules or objects, for one test."""

    def build(*plugins: Any, directories: Iterable[Any] = ()) -> Registry:
        return load_registry(autoload=False, extra_plugins=plugins, directories=list(directories))

    return build


@pytest.fixture
def cvstudio_main_window(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Any]:
    """Build the main window, shown, with the built-ins plus the given plugins; closed after the test.

    Opens the bundled lesson unless ``experiment`` names another file. Settings
    and runs live in the test's temporary folder, so a second window of the
    same test sees what the first saved. Needs pytest-qt; Qt is imported only
    here, so this module stays importable without it.
    """
    qtbot = request.getfixturevalue("qtbot")
    from cvstudio.core.experiment import bundled_lesson
    from cvstudio.core.runs import RunStore
    from cvstudio.qt.main_window import MainWindow
    from cvstudio.qt.settings import open_settings

    def build(*plugins: Any, experiment: Path | None = None) -> Any:
        registry = load_registry(autoload=False, extra_plugins=plugins)
        window = MainWindow(registry, experiment or bundled_lesson(), settings=open_settings(tmp_path / "settings.ini"),
                            store=RunStore(tmp_path / "runs"))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    return build


@pytest.fixture
def tiny_dataset() -> ImageDataset:
    """Three classes of 16×16 RGB images, 12 each: enough to train and evaluate in a second."""
    return make_tiny_dataset()


# Contract checks: the same checks cvstudio runs on its built-ins, for any spec.


def check_dataset(spec: DatasetSpec, **params: Any) -> ImageDataset:
    """The dataset builds, is a valid ImageDataset, and honours an ``image_size`` parameter."""
    dataset = spec.create(**params)
    assert isinstance(dataset, ImageDataset), f"{spec.name} returned {type(dataset).__name__}, not an ImageDataset"
    size = spec.resolve(params).get("image_size")
    if isinstance(size, int):
        assert dataset.image_size == (size, size), f"{spec.name}: image_size={size} gave {dataset.image_size}"
    again = spec.create(**params)
    assert np.array_equal(dataset.images, again.images), f"{spec.name} is not deterministic"
    return dataset


def check_feature_extractor(spec: FeatureExtractorSpec, dataset: ImageDataset | None = None, **params: Any) -> None:
    """Fits, transforms to (N, output_dim) finite float32, is deterministic, and explains itself."""
    from cvstudio.core.features import Explanation, FeatureExtractor

    dataset = dataset or make_tiny_dataset(per_class=8, size=32)
    extractor = spec.create(**params)
    assert isinstance(extractor, FeatureExtractor), f"{spec.name} is not a FeatureExtractor"
    extractor.fit(dataset.images)
    features = extractor.transform(dataset.images)
    shape = dataset.images.shape[1:]
    assert features.shape == (len(dataset), extractor.output_dim(shape)), (
        f"{spec.name}: transform gave {features.shape}, output_dim says {extractor.output_dim(shape)}"
    )
    assert features.dtype == np.float32 and np.isfinite(features).all()
    assert np.array_equal(features, extractor.transform(dataset.images)), f"{spec.name} is not deterministic"
    explanation = extractor.explain(dataset.images[0])
    assert isinstance(explanation, Explanation) and explanation.caption
    assert explanation.image is not None or explanation.values is not None


def check_classifier(spec: ClassifierSpec, **params: Any) -> None:
    """Fits standardised features and scores every class (probabilities summing to one)."""
    from cvstudio.core.classical import class_probabilities

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    features = rng.normal(size=(60, 5)) + labels[:, None]
    model = spec.create(**params).fit(features, labels)
    probabilities = class_probabilities(model, features, 3)
    assert probabilities.shape == (60, 3) and np.allclose(probabilities.sum(1), 1.0)
    assert (probabilities.argmax(1) == labels).mean() > 0.6, f"{spec.name} cannot fit an easy problem"


def check_model(spec: ModelSpec, channels: int = 3, size: int = 32, classes: int = 4, **params: Any) -> int:
    """Builds for the input, outputs (N, classes) logits, and one training step changes its weights.

    Returns the parameter count.
    """
    import torch

    from cvstudio.core.training import build_model, count_parameters

    dataset = make_tiny_dataset(classes=classes, per_class=2, size=size, channels=channels)
    model = build_model(spec, spec.resolve(params), dataset)
    x = torch.randn(4, channels, size, size)
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch.nn.functional.cross_entropy(model(x), torch.arange(4) % classes)
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters())), f"{spec.name} did not learn"
    return count_parameters(model)
