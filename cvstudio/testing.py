"""Pytest fixtures shipped with cvstudio, for its own tests and for plugin authors.

Installed as a ``pytest11`` plugin: any project that has cvstudio installed
can use these fixtures without importing anything.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import pytest

from cvstudio.core.data import ImageDataset
from cvstudio.plugins import Registry, load_registry


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
def tiny_dataset() -> ImageDataset:
    """Three classes of 16×16 RGB images, 12 each: enough to train and evaluate in a second."""
    return make_tiny_dataset()
