"""The contract every plugin component must keep, as checks anyone can run.

cvstudio runs these on its built-ins in its own tests, ``cvstudio plugin
check`` runs them on an installed plugin, and plugin authors call them from
their tests (they are re-exported by :mod:`cvstudio.testing`). A failed check
raises :class:`ContractError` naming the component, the problem and the fix.
Besides types and shapes, the checks catch *degenerate* components: features
that are the same for every image, a network whose output ignores its input.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cvstudio.core.data import ImageDataset
from cvstudio.specs import ClassifierSpec, DatasetSpec, FeatureExtractorSpec, ModelSpec, PanelSpec


class ContractError(AssertionError):
    """A component breaks the plugin contract; the message says which, how, and what to change.

    An ``AssertionError``, so pytest reports it as a failed check.
    """


def require(condition: Any, message: str) -> None:
    """Raise :class:`ContractError` with ``message`` unless ``condition`` holds (unlike ``assert``, never skipped)."""
    if not condition:
        raise ContractError(message)


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


def check_dataset(spec: DatasetSpec, **params: Any) -> ImageDataset:
    """The dataset builds, is a valid ImageDataset, honours ``image_size``, is deterministic, and its images differ."""
    dataset = spec.create(**params)
    where = f"dataset '{spec.name}'"
    require(isinstance(dataset, ImageDataset),
            f"{where} returned {type(dataset).__name__}; its factory must return a cvstudio.core.data.ImageDataset")
    size = spec.resolve(params).get("image_size")
    if isinstance(size, int):
        require(dataset.image_size == (size, size),
                f"{where}: image_size={size} gave images of {dataset.image_size}; resize them to (image_size, image_size)")
    again = spec.create(**params)
    require(np.array_equal(dataset.images, again.images),
            f"{where} is not deterministic: the same parameters gave other images; seed its random generator")
    require(not (dataset.images == dataset.images[:1]).all(),
            f"{where}: every image is the same, so nothing can be learned from it")
    return dataset


def check_feature_extractor(spec: FeatureExtractorSpec, dataset: ImageDataset | None = None, **params: Any) -> None:
    """Fits; transforms to (N, output_dim) finite float32, deterministically; tells images apart; explains itself."""
    from cvstudio.core.features import Explanation, FeatureExtractor

    dataset = dataset or make_tiny_dataset(per_class=8, size=32)
    where = f"feature extractor '{spec.name}'"
    extractor = spec.create(**params)
    require(isinstance(extractor, FeatureExtractor),
            f"{where}: its factory returned {type(extractor).__name__}, not a cvstudio.core.features.FeatureExtractor")
    extractor.fit(dataset.images)
    features = extractor.transform(dataset.images)
    shape = dataset.images.shape[1:]
    require(isinstance(features, np.ndarray) and features.shape == (len(dataset), extractor.output_dim(shape)),
            f"{where}: transform gave {getattr(features, 'shape', type(features).__name__)}, "
            f"output_dim says {extractor.output_dim(shape)}; return one row of output_dim numbers per image")
    require(features.dtype == np.float32, f"{where}: transform gave {features.dtype}; return float32 (.astype(np.float32))")
    require(np.isfinite(features).all(), f"{where}: transform gave NaN or infinite values")
    require(np.array_equal(features, extractor.transform(dataset.images)),
            f"{where} is not deterministic: the same images gave other features")
    require(not np.allclose(features, features[:1], rtol=1e-6, atol=1e-12),
            f"{where} gives the same features for {len(dataset)} different images, so a classifier cannot tell "
            "them apart; check the value range you assume (to_gray returns float32 in 0..1, not 0..255)")
    explanation = extractor.explain(dataset.images[0])
    require(isinstance(explanation, Explanation) and explanation.caption,
            f"{where}: explain() must return an Explanation with a caption")
    require(explanation.image is not None or explanation.values is not None,
            f"{where}: explain() must give an image or values to draw")


def check_classifier(spec: ClassifierSpec, **params: Any) -> None:
    """Fits standardised features and scores every class (probabilities summing to one), above chance."""
    from cvstudio.core.classical import class_probabilities

    where = f"classifier '{spec.name}'"
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    features = rng.normal(size=(60, 5)) + labels[:, None]
    model = spec.create(**params).fit(features, labels)
    probabilities = class_probabilities(model, features, 3)
    require(probabilities.shape == (60, 3) and np.allclose(probabilities.sum(1), 1.0),
            f"{where}: class scores of shape {probabilities.shape}, expected (60, 3) summing to one per row; "
            "give it predict_proba or decision_function")
    require((probabilities.argmax(1) == labels).mean() > 0.6,
            f"{where} cannot fit an easy problem (three well separated classes)")


def check_model(spec: ModelSpec, channels: int = 3, size: int = 32, classes: int = 4, **params: Any) -> int:
    """Builds for the input, outputs (N, classes) logits that depend on the input, and learns in one step.

    Returns the parameter count.
    """
    import torch

    from cvstudio.core.training import build_model, count_parameters

    where = f"model '{spec.name}'"
    dataset = make_tiny_dataset(classes=classes, per_class=2, size=size, channels=channels)
    model = build_model(spec, spec.resolve(params), dataset)
    torch.manual_seed(0)
    x = torch.randn(4, channels, size, size)  # standardised inputs, as in training
    model.eval()
    with torch.no_grad():
        outputs = model(x)
    model.train()
    require(not torch.allclose(outputs, outputs[:1].expand_as(outputs), rtol=1e-5, atol=1e-7),
            f"{where} gives the same output for 4 different images: its output ignores its input; "
            "check that forward() uses its argument")
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch.nn.functional.cross_entropy(model(x), torch.arange(4) % classes)
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    require(any(not torch.equal(a, b) for a, b in zip(before, model.parameters())),
            f"{where} did not learn: one training step changed none of its weights")
    return count_parameters(model)


def check_panel(spec: PanelSpec) -> None:
    """The panel's factory imports and is callable (only the desktop app calls it, with the window)."""
    factory = spec.load_factory()
    require(callable(factory), f"panel '{spec.name}': factory {spec.factory!r} is not callable")
