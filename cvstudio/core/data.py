"""In-memory image datasets and deterministic stratified splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


class DatasetError(ValueError):
    """A dataset cannot be built or used; the message says how to fix it."""


@dataclass(frozen=True)
class SkippedFile:
    """A file a dataset loader passed over, and why."""

    path: str
    reason: str


SKIPPED_NAMED = 3  # skipped files named one by one in a report; the rest are counted


def describe_skipped(skipped: Sequence[SkippedFile], named: int = SKIPPED_NAMED) -> str:
    """How many files a loader skipped and why: the first few by path with their reason, a count of the rest.

    Empty when nothing was skipped. One line per named file, for a console, a log or a label.
    """
    if not skipped:
        return ""
    count = len(skipped)
    lines = [f"{count} file{'s' if count > 1 else ''} skipped (not used):"]
    lines += [f"  {skip.path}: {skip.reason}" for skip in skipped[:named]]
    if count > named:
        lines.append(f"  … and {count - named} more")
    return "\n".join(lines)


@dataclass
class ImageDataset:
    """Images as one uint8 array (N, H, W, C) with C of 1 or 3, and integer labels."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    skipped: tuple[SkippedFile, ...] = field(default=())
    description: str = ""

    def __post_init__(self) -> None:
        self.class_names = tuple(self.class_names)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        images = np.asarray(self.images)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise DatasetError(
                f"dataset '{self.name}': images must be (N, H, W, C) with C = 1 or 3, got shape {images.shape}"
            )
        if images.dtype != np.uint8:
            raise DatasetError(f"dataset '{self.name}': images must be uint8, got {images.dtype}")
        self.images = images
        if len(images) == 0:
            raise DatasetError(f"dataset '{self.name}' has no images")
        if self.labels.shape != (len(images),):
            raise DatasetError(
                f"dataset '{self.name}': {len(images)} images but labels of shape {self.labels.shape}"
            )
        if len(self.class_names) < 2:
            raise DatasetError(f"dataset '{self.name}' needs at least two classes, has {len(self.class_names)}")
        if self.labels.min() < 0 or self.labels.max() >= len(self.class_names):
            raise DatasetError(f"dataset '{self.name}': labels must lie in 0..{len(self.class_names) - 1}")
        empty = [name for name, count in zip(self.class_names, self.class_counts()) if count == 0]
        if empty:
            raise DatasetError(
                f"dataset '{self.name}': class {', '.join(empty)} has no images; add images or remove the class"
            )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        """How many classes: ``len(class_names)``."""
        return len(self.class_names)

    @property
    def channels(self) -> int:
        """1 for grey images, 3 for colour (RGB)."""
        return int(self.images.shape[-1])

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) in pixels, the same for every image."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    def class_counts(self) -> np.ndarray:
        """Images of each class, in the order of ``class_names``."""
        return np.bincount(self.labels, minlength=len(self.class_names))


@dataclass(frozen=True)
class Split:
    """Indices of the train, validation and test parts of a dataset."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def stratified_split(
    labels: np.ndarray, val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> Split:
    """Split indices per class, so each part keeps the class balance; same seed, same split."""
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise DatasetError(
            f"split fractions val={val_fraction} and test={test_fraction} must each be in [0, 1) and sum below 1"
        )
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n = len(members)
        n_val = _part_size(n, val_fraction)
        n_test = _part_size(n, test_fraction)
        if n - n_val - n_test < 1:
            raise DatasetError(
                f"class {label} has only {n} images: too few to split into train, validation and test; add images"
            )
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    return Split(**{name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()})


def _part_size(n: int, fraction: float) -> int:
    if fraction == 0:
        return 0
    return max(1, round(n * fraction))
