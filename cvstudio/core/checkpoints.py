"""A run's saved network, loaded back: what it makes of any image of its dataset after training.

Training snapshots the maps of one image at a time; once it has ended, the
checkpoint it left in the run answers for the image a user chooses next.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from cvstudio.core.data import ImageDataset
from cvstudio.core.training import ActivationRecorder, ActivationSnapshot, Normalization, build_model
from cvstudio.plugins import Registry


class CheckpointError(ValueError):
    """A checkpoint that cannot serve this dataset; the message says why and what to use instead."""


def load_checkpoint(path: Path, registry: Registry, dataset: ImageDataset) -> tuple[Any, Normalization, int]:
    """The network saved at ``path`` rebuilt for ``dataset`` (the one it was trained on), in evaluation
    mode on the CPU, with its input normalisation and the epoch it was saved at."""
    import torch

    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: no such file; give the path of a run's checkpoints/NAME.pt "
                              "(see `cvstudio runs`)")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    trained_on = (tuple(saved["class_names"]), tuple(saved["image_size"]), saved["in_channels"])
    here = (dataset.class_names, dataset.image_size, dataset.channels)
    if trained_on != here:
        raise CheckpointError(
            f"checkpoint {path} was trained on classes {list(trained_on[0])} at {trained_on[1]} with "
            f"{trained_on[2]} channel(s), but this dataset has {list(here[0])} at {here[1]} with {here[2]}: "
            "use the [dataset] of the run that saved it")
    model = build_model(registry.get("models", saved["model"]), saved["model_params"], dataset)
    model.load_state_dict(saved["state_dict"])
    norm = saved["normalization"]
    return model.eval(), Normalization(tuple(norm["mean"]), tuple(norm["std"])), int(saved.get("epoch", 0))


def normalized_image(image: np.ndarray, normalization: Normalization, device: Any) -> Any:
    """One (H, W, C) uint8 image as the (1, C, H, W) float batch the network was trained on."""
    import torch

    mean = torch.tensor(normalization.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(normalization.std, device=device).view(1, -1, 1, 1)
    return (torch.from_numpy(image).to(device).permute(2, 0, 1)[None].float() / 255.0 - mean) / std


def image_snapshot(network: Any, normalization: Normalization, dataset: ImageDataset, index: int,
                   pipeline: str, epoch: int) -> ActivationSnapshot:
    """Every layer's maps of dataset image ``index``, as a training snapshot holds them for its probe."""
    device = next(network.parameters()).device
    recorder = ActivationRecorder(network)
    try:
        return recorder.snapshot(pipeline, epoch, 0, normalized_image(dataset.images[index], normalization, device),
                                 index)
    finally:
        recorder.close()


class CheckpointMaps:
    """A finished pipeline's checkpoint, loaded once, answering for one image after another.

    Explain jobs run in workers one after the other; the lock keeps two from
    loading the network at the same time.
    """

    def __init__(self, path: Path, pipeline: str, registry: Registry, dataset: ImageDataset) -> None:
        self.path = path
        self.pipeline = pipeline
        self.registry = registry
        self.dataset = dataset
        self.lock = threading.Lock()
        self.loaded: tuple[Any, Normalization, int] | None = None

    def snapshot(self, index: int) -> ActivationSnapshot:
        with self.lock:
            if self.loaded is None:
                self.loaded = load_checkpoint(self.path, self.registry, self.dataset)
            network, normalization, epoch = self.loaded
            return image_snapshot(network, normalization, self.dataset, index, self.pipeline, epoch)
