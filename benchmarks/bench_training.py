"""train_overhead: the engine's training throughput against a bare PyTorch loop.

Same model, same data (already in memory), same batch size and optimiser; the
engine also computes per-batch metrics, yields events and snapshots
activations, which is what this ratio prices.
"""

from __future__ import annotations

import json
import time

import torch

from cvstudio.core.data import stratified_split
from cvstudio.core.tasks import TaskState, drain
from cvstudio.core.training import Normalization, TrainConfig, train_model
from cvstudio.plugins import load_registry
from pairs import paired_ratio

MODEL, EPOCHS, BATCH = "lenet5", 2, 64


def _data():
    registry = load_registry(autoload=False)
    dataset = registry.get("datasets", "shapes").create(per_class=300, image_size=32)
    return registry, dataset, stratified_split(dataset.labels, 0.15, 0.15, seed=0)


def bare_loop_throughput(registry, dataset, split) -> float:
    torch.manual_seed(0)
    model = registry.get("models", MODEL).create(dataset.channels, dataset.image_size, dataset.num_classes)
    norm = Normalization.of(dataset.images[split.train])
    x = torch.from_numpy(dataset.images[split.train].transpose(0, 3, 1, 2).copy()).float() / 255.0
    x = (x - torch.tensor(norm.mean).view(1, -1, 1, 1)) / torch.tensor(norm.std).view(1, -1, 1, 1)
    y = torch.from_numpy(dataset.labels[split.train])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for _ in range(EPOCHS):
        order = torch.randperm(len(x))
        for i in range(0, len(x), BATCH):
            index = order[i : i + BATCH]
            loss = loss_fn(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return EPOCHS * len(x) / (time.perf_counter() - start)


def engine_throughput(registry, dataset, split) -> float:
    config = TrainConfig.from_params({"epochs": EPOCHS, "batch_size": BATCH})
    _, result = drain(train_model(registry.get("models", MODEL), {}, dataset, split, config, TaskState()))
    return result.images_per_s


def train_overhead(pairs: int = 5) -> dict:
    """Engine throughput / bare throughput, the median of interleaved pairs."""
    torch.set_num_threads(torch.get_num_threads())
    registry, dataset, split = _data()
    bare_loop_throughput(registry, dataset, split)  # warm-up: first-call allocations and kernels
    return paired_ratio(lambda: engine_throughput(registry, dataset, split),
                        lambda: bare_loop_throughput(registry, dataset, split), pairs).to_json()


if __name__ == "__main__":
    print(json.dumps({"train_overhead": train_overhead(3)}))
