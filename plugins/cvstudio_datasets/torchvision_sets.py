"""MNIST, Fashion-MNIST and CIFAR-10 through torchvision, local files first.

torchvision is imported inside :func:`load` only: the plugin's ``__init__``
reads :func:`default_root` and :data:`TORCHVISION_SETS` from here while
listing datasets, which must stay free of heavy imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from cvstudio.core.data import DatasetError, ImageDataset


@dataclass(frozen=True)
class TorchvisionSet:
    """How one benchmark is found in torchvision and laid out on disk."""

    title: str
    class_name: str
    layout: str
    class_names: tuple[str, ...] = ()  # empty: use the dataset's own ``classes``


_IDX_FILES = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"

TORCHVISION_SETS = {
    "mnist": TorchvisionSet(
        "MNIST", "MNIST", f"<root>/MNIST/raw/ ({_IDX_FILES})", tuple(str(d) for d in range(10))
    ),
    "fashion-mnist": TorchvisionSet("Fashion-MNIST", "FashionMNIST", f"<root>/FashionMNIST/raw/ ({_IDX_FILES})"),
    "cifar10": TorchvisionSet(
        "CIFAR-10",
        "CIFAR10",
        "<root>/cifar-10-batches-py/ (data_batch_1 to data_batch_5, test_batch, batches.meta: "
        "the unpacked cifar-10-python.tar.gz)",
    ),
}


def default_root() -> str:
    """Where downloads are kept: the user's cache folder, shared by every run."""
    return str(Path(platformdirs.user_cache_dir("cvstudio")) / "torchvision")


def load(
    dataset: str = "mnist", root: str = "", split: str = "train", limit: int = 10000, download: bool = True
) -> ImageDataset:
    """The ``split`` part of ``dataset`` from ``root``, downloading it there only when missing."""
    import torchvision.datasets

    if dataset not in TORCHVISION_SETS:
        raise DatasetError(f"unknown torchvision dataset {dataset!r}; choose one of {', '.join(TORCHVISION_SETS)}")
    info = TORCHVISION_SETS[dataset]
    folder = Path(root).expanduser() if root.strip() else Path(default_root())
    where = info.layout.replace("<root>", str(folder))
    dataset_class = getattr(torchvision.datasets, info.class_name)
    train = split == "train"
    try:
        data = dataset_class(str(folder), train=train, download=False)
    except RuntimeError as missing:  # torchvision's "Dataset not found"
        if not download:
            raise DatasetError(
                f"{info.title} is not in '{folder}' and downloading is switched off. Turn 'download' on, "
                f"or copy the dataset files into {where}."
            ) from missing
        try:
            data = dataset_class(str(folder), train=train, download=True)
        except (OSError, RuntimeError) as error:  # URLError is an OSError; MNIST wraps it in a RuntimeError
            reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            raise DatasetError(
                f"Could not download {info.title} into '{folder}' ({reason}). This machine seems to be "
                f"offline, or the server cannot be reached. Connect to the internet and try again, or copy "
                f"the dataset files into {where}."
            ) from error
    labels = np.asarray(data.targets, dtype=np.int64)
    keep = first_per_class(labels, limit)
    images = np.asarray(data.data)[keep]
    return ImageDataset(
        name=dataset,
        images=images,
        labels=labels[keep],
        class_names=info.class_names or tuple(data.classes),
        description=f"{info.title}, {split} split: {len(keep)} of {len(labels)} images, from {folder}",
    )


def first_per_class(labels: np.ndarray, limit: int) -> np.ndarray:
    """Indices of ``limit`` items taken in turn from each class, in dataset order; 0 keeps all.

    Deterministic and balanced: the first image of every class, then the second
    of every class, and so on.
    """
    if limit == 0 or limit >= len(labels):
        return np.arange(len(labels))
    rank = np.empty(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        members = labels == label
        rank[members] = np.arange(members.sum())
    return np.sort(np.lexsort((np.arange(len(labels)), rank))[:limit])
