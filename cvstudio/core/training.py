"""Deep training as a generator of typed events.

``train_model`` builds a model from its spec, trains it, and yields batch and
epoch metrics, activation snapshots of a probe image and checkpoints as it
goes. It checks its :class:`~cvstudio.core.tasks.TaskState` between batches,
so the GUI and the CLI can cancel it.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generator, Mapping, NamedTuple

import numpy as np

from cvstudio.core import distributed
from cvstudio.core.data import ImageDataset, Split
from cvstudio.core.devices import DEVICE_CHOICES, resolve_device
from cvstudio.core.evaluation import Evaluation, evaluate
from cvstudio.core.runs import atomic_write
from cvstudio.core.tasks import Progress, TaskState
from cvstudio.core.threads import FreeCoreThreads
from cvstudio.specs import ModelSpec, Param, SpecError

TRAINING_PARAMS = (
    Param("epochs", "int", 10, minimum=1, maximum=1000, help="Passes over the training images."),
    Param("batch_size", "int", 64, minimum=1, maximum=4096, help="Images per gradient step."),
    Param("learning_rate", "float", 1e-3, minimum=1e-6, maximum=10.0, log=True,
          help="Step size of the optimiser; too large and the loss explodes."),
    Param("optimizer", "choice", "adam", choices=("adam", "adamw", "sgd"),
          help="Adam adapts the step per weight; SGD uses momentum 0.9."),
    Param("weight_decay", "float", 0.0, minimum=0.0, maximum=1.0, help="L2 penalty on the weights."),
    Param("schedule", "choice", "constant", choices=("constant", "onecycle"),
          help="constant: the same learning rate throughout. onecycle: it rises to learning_rate over the "
          "first 30 % of the steps, then falls to almost zero, which reaches a good result in fewer epochs."),
    Param("augment", "choice", "none", choices=("none", "shift", "flip+shift"),
          help="Random shifts (and mirror images) of the training images, for invariance."),
    Param("device", "choice", "auto", choices=DEVICE_CHOICES,
          help="Auto uses a CUDA GPU, then Apple's MPS, then the CPU."),
    Param("amp", "bool", True, help="Mixed precision on CUDA: faster, same accuracy."),
    Param("seed", "int", 0, minimum=0, help="Same seed, same initial weights and batch order."),
)
ACTIVATION_CHANNELS = 64
# An epoch whose mean training loss is this many times that of a uniform guess (ln of the
# number of classes) has diverged, even while the loss is still a finite number.
DIVERGED_LOSS_FACTOR = 100.0
SHIFT_PIXELS = 3


class TrainingError(RuntimeError):
    """Training cannot go on; the message says what to change."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "constant"
    augment: str = "none"
    device: str = "auto"
    amp: bool = True
    seed: int = 0
    snapshot_interval_s: float = 1.0

    @classmethod
    def from_params(cls, values: Mapping[str, Any] | None = None, **extra: Any) -> TrainConfig:
        """Validate ``values`` against :data:`TRAINING_PARAMS` and fill in defaults."""
        resolved = {p.name: p.default for p in TRAINING_PARAMS}
        by_name = {p.name: p for p in TRAINING_PARAMS}
        for name, value in (values or {}).items():
            if name not in by_name:
                raise SpecError(f"unknown training setting '{name}' (known: {', '.join(by_name)})")
            resolved[name] = by_name[name].validate(value)
        return cls(**resolved, **extra)


@dataclass(frozen=True)
class Normalization:
    """Per-channel mean and std of the training images (pixel values scaled to 0–1)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def of(cls, images: np.ndarray, chunk: int = 1024) -> Normalization:
        """Summed a chunk of images at a time: a float64 copy of them all would take 8 times their memory."""
        channels = images.shape[-1]
        total, squares, count = np.zeros(channels), np.zeros(channels), 0
        for start in range(0, len(images), chunk):
            pixels = images[start:start + chunk].reshape(-1, channels).astype(np.float64) / 255.0
            total += pixels.sum(0)
            squares += np.square(pixels).sum(0)
            count += len(pixels)
        mean = total / max(count, 1)
        std = np.sqrt(np.maximum(squares / max(count, 1) - mean**2, 0.0))
        return cls(tuple(mean.tolist()), tuple(np.maximum(std, 1e-3).tolist()))


@dataclass(frozen=True)
class BatchEnd:
    pipeline: str
    epoch: int
    batch: int
    batches: int
    loss: float
    accuracy: float
    images_per_s: float


@dataclass(frozen=True)
class EpochEnd:
    pipeline: str
    epoch: int
    epochs: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float
    images_per_s: float


@dataclass(frozen=True)
class ActivationSnapshot:
    """Feature maps of the probe image for every Conv2d/Linear layer, and the first layer's filters.

    Conv outputs are (C, H, W) with at most ``ACTIVATION_CHANNELS`` channels;
    linear outputs are (D,) or (tokens, D). ``filters`` is (O, I, kh, kw).
    """

    pipeline: str
    epoch: int
    batch: int
    activations: dict[str, np.ndarray]
    filters: np.ndarray | None
    probe_index: int


@dataclass(frozen=True)
class CheckpointSaved:
    pipeline: str
    epoch: int
    path: str


TrainingEvent = Progress | BatchEnd | EpochEnd | ActivationSnapshot | CheckpointSaved


@dataclass
class DeepResult:
    pipeline: str
    val: Evaluation
    test: Evaluation
    parameters: int
    device: str
    train_seconds: float
    images_per_s: float
    normalization: Normalization
    history: list[EpochEnd] = field(default_factory=list)
    model: Any = None
    distributed: dict[str, Any] | None = None  # processes, backend and weights' SHA-256 of a torchrun training


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_model(spec: ModelSpec, params: Mapping[str, Any], dataset: ImageDataset) -> Any:
    """Build ``spec`` for this dataset and check its output shape on two images."""
    import torch

    model = spec.create(dataset.channels, dataset.image_size, dataset.num_classes, **params)
    where = f"model '{spec.name}'" + (f" from plugin '{spec.plugin}'" if spec.plugin else "")
    if not isinstance(model, torch.nn.Module):
        raise TrainingError(f"{where}: its factory returned {type(model).__name__}, not a torch.nn.Module")
    probe = torch.zeros(2, dataset.channels, *dataset.image_size)
    model.eval()
    try:
        with torch.no_grad():
            output = model(probe)
    except Exception as exc:
        raise TrainingError(
            f"{where} failed on a batch of {dataset.image_size[0]}×{dataset.image_size[1]} "
            f"images with {dataset.channels} channel(s): {exc}"
        ) from exc
    if tuple(output.shape) != (2, dataset.num_classes):
        raise TrainingError(
            f"{where} returned shape {tuple(output.shape)} for 2 images; expected "
            f"(2, {dataset.num_classes}), one score per class: its last layer must have num_classes outputs"
        )
    model.train()
    return model


def train_model(
    spec: ModelSpec,
    model_params: Mapping[str, Any],
    dataset: ImageDataset,
    split: Split,
    config: TrainConfig,
    state: TaskState,
    pipeline: str = "deep",
    checkpoint_path: Path | None = None,
) -> Generator[TrainingEvent, None, DeepResult]:
    """Train ``spec`` on the training part; validate each epoch; evaluate on validation and test.

    Under torchrun (:func:`cvstudio.core.distributed.current`), every process runs this with the same
    arguments and trains on its share of each batch, the processes' gradients averaged by
    DistributedDataParallel; ``checkpoint_path`` is then given to process 0 only.
    """
    world = distributed.current()
    threads = FreeCoreThreads()  # a browser or a video call taking a core slows training by its share only
    events = _train(spec, model_params, dataset, split, config, state, pipeline, checkpoint_path, world, threads)
    try:
        return (yield from (events if world is None else world.guard(events)))
    finally:
        threads.restore()


def _train(
    spec: ModelSpec,
    model_params: Mapping[str, Any],
    dataset: ImageDataset,
    split: Split,
    config: TrainConfig,
    state: TaskState,
    pipeline: str,
    checkpoint_path: Path | None,
    world: distributed.World | None,
    threads: FreeCoreThreads,
) -> Generator[TrainingEvent, None, DeepResult]:
    import torch

    device = resolve_device(config.device)
    if world is not None and device.type == "cuda":
        device = distributed.use_gpu(world)
    torch.manual_seed(config.seed)
    model = build_model(spec, model_params, dataset).to(device)
    if world is not None:
        batch_size_check(config.batch_size, world.size)
        model, net = _data_parallel(model, device, world)
        torch.manual_seed(config.seed + world.rank)  # dropout: each process its own masks
    else:
        net = model
    normalization = Normalization.of(dataset.images[split.train])
    data = _DeviceData(dataset, normalization, device)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = _optimizer(net, config)
    loss_fn = torch.nn.CrossEntropyLoss()
    amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    own_probe = int(split.val[0]) if len(split.val) else int(split.train[0])
    recorder = ActivationRecorder(model)

    def probe() -> int:
        """The image the user is looking at (``state.focus``), else a validation image."""
        focus = state.focus
        return focus if focus is not None and 0 <= focus < len(dataset) else own_probe

    def snapshot(epoch: int, batch: int) -> ActivationSnapshot:
        index = probe()
        return recorder.snapshot(pipeline, epoch, batch, data.batch(torch.tensor([index])), index)

    train_index = torch.as_tensor(split.train)
    batches = _batch_count(len(train_index), config.batch_size, 2 * (world.size if world else 1))
    scheduler = _scheduler(optimizer, config, config.epochs * batches)
    history: list[EpochEnd] = []
    train_seconds = 0.0
    last = snapshot(0, 0)
    yield last
    last_snapshot = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        net.train()
        order = train_index[torch.randperm(len(train_index), generator=generator)]
        epoch_start = time.perf_counter()
        loss_sum = correct = seen = 0.0
        for batch in range(batches):
            state.check()
            threads.check()
            batch_start = time.perf_counter()
            index = order[batch * config.batch_size : (batch + 1) * config.batch_size if batch + 1 < batches else None]
            batch_images = len(index)
            moves = _draw_augmentation(batch_images, config.augment, generator)  # for the whole batch, on every process
            if world is not None:
                index, moves = world.shard(index), None if moves is None else moves.part(world)
            images = _apply_augmentation(data.batch(index), moves)
            targets = data.labels[index.to(data.labels.device)]
            try:
                with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
                    logits = net(images)
                    loss = loss_fn(logits, targets)
                optimizer.zero_grad(set_to_none=True)
                # DDP averages the processes' gradients: weighting each by its share of the batch makes the
                # average the gradient of the whole batch's mean loss, whether or not the shares are equal.
                weighted = loss if world is None else loss * (len(index) * world.size / batch_images)
                scaler.scale(weighted).backward()
                scaler.step(optimizer)
                scaler.update()
                if scheduler is not None:
                    scheduler.step()
            except torch.cuda.OutOfMemoryError as exc:
                raise TrainingError(
                    f"the GPU ran out of memory with batch size {config.batch_size}; "
                    "lower the batch size, choose a smaller model, or set device to 'cpu'"
                ) from exc
            loss_value = loss.item()
            if not np.isfinite(loss_value):
                raise TrainingError(
                    f"the loss became {loss_value} at epoch {epoch}, batch {batch + 1}: training diverged; "
                    f"lower the learning rate (now {config.learning_rate:g})"
                )
            batch_correct = (logits.argmax(1) == targets).sum().item()
            n = len(index)
            loss_sum += loss_value * n
            correct += batch_correct
            seen += n
            yield BatchEnd(pipeline, epoch, batch + 1, batches, loss_value, batch_correct / n,
                           batch_images / max(time.perf_counter() - batch_start, 1e-9))
            if time.perf_counter() - last_snapshot >= config.snapshot_interval_s or probe() != last.probe_index:
                last = snapshot(epoch, batch + 1)  # a newly chosen image is shown after one batch, not one interval
                yield last
                model.train()
                last_snapshot = time.perf_counter()
        if world is not None:
            loss_sum, correct, seen = world.all_sum([loss_sum, correct, seen])
            world.broadcast_buffers(model)  # every process validates the same network
        _check_divergence(loss_sum / seen, dataset.num_classes, epoch, config)
        epoch_seconds = time.perf_counter() - epoch_start
        train_seconds += epoch_seconds
        val_loss, val_probabilities = _predict(model, data, split.val, config.batch_size, loss_fn)
        val_accuracy = float(np.mean(val_probabilities.argmax(1) == dataset.labels[split.val])) if len(split.val) else 0.0
        event = EpochEnd(pipeline, epoch, config.epochs, loss_sum / seen, correct / seen, val_loss,
                         val_accuracy, epoch_seconds, seen / epoch_seconds)
        history.append(event)
        yield event
        last = snapshot(epoch, batches)
        yield last
        last_snapshot = time.perf_counter()
        if checkpoint_path is not None:
            save_checkpoint(checkpoint_path, model, spec, model_params, dataset, normalization, epoch)
            yield CheckpointSaved(pipeline, epoch, str(checkpoint_path))
    recorder.close()
    shared = None if world is None else {**world.describe(device), "weights_sha256": world.agreed_weights(model)}
    _, test_probabilities = _predict(model, data, split.test, config.batch_size, loss_fn)
    return DeepResult(
        pipeline=pipeline,
        val=evaluate(dataset.labels[split.val], val_probabilities, dataset.class_names, split.val),
        test=evaluate(dataset.labels[split.test], test_probabilities, dataset.class_names, split.test),
        parameters=count_parameters(model),
        device=str(device),
        train_seconds=train_seconds,
        images_per_s=sum(e.images_per_s * e.seconds for e in history) / max(train_seconds, 1e-9),
        normalization=normalization,
        history=history,
        model=model,
        distributed=shared,
    )


def _check_divergence(train_loss: float, classes: int, epoch: int, config: TrainConfig) -> None:
    """Stop a training whose loss exploded: its epochs from here on would be saved as if they were results."""
    chance = float(np.log(max(classes, 2)))
    if train_loss > DIVERGED_LOSS_FACTOR * chance:
        raise TrainingError(
            f"training diverged: the mean training loss of epoch {epoch} was {train_loss:.3g}, over "
            f"{DIVERGED_LOSS_FACTOR:g} times that of a uniform guess ({chance:.2f}); lower the learning rate "
            f"(now {config.learning_rate:g})"
        )


def _batch_count(images: int, batch_size: int, smallest: int = 2) -> int:
    """Batches per epoch; a last batch of fewer than ``smallest`` images joins the one before.

    Batch norm needs two images: two in all, or two on each process of a distributed training.
    """
    batches = max(1, -(-images // batch_size))
    return batches - 1 if batches > 1 and 0 < images % batch_size < smallest else batches


def batch_size_check(batch_size: int, processes: int) -> None:
    """Refuse a batch too small to give every process of a distributed training two images of it."""
    if batch_size < 2 * processes:
        raise TrainingError(f"batch size {batch_size} is too small for {processes} processes: each trains on its "
                            f"share of every batch and needs at least 2 images of it; set batch_size to "
                            f"{2 * processes} or more, or start fewer processes")


def _data_parallel(model: Any, device: Any, world: distributed.World) -> tuple[Any, Any]:
    """The model to train, evaluate and save, and its DistributedDataParallel wrapper to train through.

    On GPUs, batch norm computes its statistics over the whole batch (SyncBatchNorm), as one process
    would; torch's SyncBatchNorm does not run on the CPU, where each process normalises its own share.
    """
    import torch
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model, DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def save_checkpoint(
    path: Path,
    model: Any,
    spec: ModelSpec,
    model_params: Mapping[str, Any],
    dataset: ImageDataset,
    normalization: Normalization,
    epoch: int,
) -> None:
    """Everything needed to rebuild the model and feed it images, written atomically.

    It is serialised in memory first (:func:`checkpoint_bytes`), so that a failed write is an OSError
    naming the file (torch's own writer reports a full disk as a RuntimeError).
    """
    data = checkpoint_bytes(model, spec, model_params, dataset, normalization, epoch)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def checkpoint_bytes(
    model: Any,
    spec: ModelSpec,
    model_params: Mapping[str, Any],
    dataset: ImageDataset,
    normalization: Normalization,
    epoch: int,
) -> bytes:
    """A checkpoint as :func:`save_checkpoint` writes it, in memory: a cluster's worker sends it back whole."""
    import torch

    buffer = io.BytesIO()
    torch.save(
        {
            "model": spec.name,
            "model_params": dict(model_params),
            "in_channels": dataset.channels,
            "image_size": list(dataset.image_size),
            "class_names": list(dataset.class_names),
            "normalization": {"mean": list(normalization.mean), "std": list(normalization.std)},
            "epoch": epoch,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        },
        buffer,
    )
    return buffer.getvalue()


class _DeviceData:
    """Images as a uint8 (N, C, H, W) tensor, on the GPU when it fits; normalised per batch."""

    GPU_BYTES_LIMIT = 2 * 1024**3

    def __init__(self, dataset: ImageDataset, normalization: Normalization, device: Any) -> None:
        import torch

        images = torch.from_numpy(np.ascontiguousarray(dataset.images.transpose(0, 3, 1, 2)))
        storage = device if device.type == "cpu" or images.numel() < self.GPU_BYTES_LIMIT else torch.device("cpu")
        self.images = images.to(storage)
        self.labels = torch.from_numpy(dataset.labels).to(device)
        self.num_classes = dataset.num_classes
        self.device = device
        shape = (1, -1, 1, 1)
        self.mean = torch.tensor(normalization.mean, dtype=torch.float32, device=device).view(shape)
        self.std = torch.tensor(normalization.std, dtype=torch.float32, device=device).view(shape)

    def batch(self, index: Any) -> Any:
        raw = self.images[index.to(self.images.device)].to(self.device, non_blocking=True)
        return (raw.float() / 255.0 - self.mean) / self.std


def warm_up() -> None:
    """Load what torch loads lazily on the first training step, ahead of it.

    The first optimizer imports ``torch._dynamo``: about a second of imports
    that hold the interpreter lock in long stretches. Done while the app
    starts, the window stays responsive when the user presses Run.
    """
    import torch

    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1)
    (weight * 2).sum().backward()
    optimizer.step()


def _optimizer(model: Any, config: TrainConfig) -> Any:
    import torch

    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.learning_rate, momentum=0.9, weight_decay=config.weight_decay)
    optimizer = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return optimizer(params, lr=config.learning_rate, weight_decay=config.weight_decay)


def _scheduler(optimizer: Any, config: TrainConfig, steps: int) -> Any:
    """The learning-rate schedule stepped after every batch; None keeps the rate constant."""
    if config.schedule == "constant":
        return None
    import torch

    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.learning_rate, total_steps=steps,
                                               pct_start=0.3)


class _Moves(NamedTuple):
    """The random shift (and mirror) of each image of a batch."""

    dy: Any
    dx: Any
    flip: Any

    def part(self, world: distributed.World) -> _Moves:
        """This process's share of the batch's moves."""
        return _Moves(*(None if moves is None else world.shard(moves) for moves in self))


def _augment(images: Any, augment: str, generator: Any) -> Any:
    """Random per-image shifts (edge pixels repeated) and, for flip+shift, mirror images."""
    return _apply_augmentation(images, _draw_augmentation(len(images), augment, generator))


def _draw_augmentation(n: int, augment: str, generator: Any) -> _Moves | None:
    """The moves of ``n`` images, drawn from ``generator``; None for no augmentation.

    Processes of a distributed training each draw them for the whole batch and apply their share, so
    their generators stay in step and the batch is augmented as one process would augment it.
    """
    if augment == "none":
        return None
    import torch

    m = SHIFT_PIXELS
    dy = torch.randint(0, 2 * m + 1, (n, 1), generator=generator)
    dx = torch.randint(0, 2 * m + 1, (n, 1), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5 if augment == "flip+shift" else None
    return _Moves(dy, dx, flip)


def _apply_augmentation(images: Any, moves: _Moves | None) -> Any:
    if moves is None:
        return images
    import torch

    n, c, h, w = images.shape
    m = SHIFT_PIXELS
    padded = torch.nn.functional.pad(images, (m, m, m, m), mode="replicate")
    rows = (moves.dy.to(images.device) + torch.arange(h, device=images.device))[:, None, :, None]
    cols = (moves.dx.to(images.device) + torch.arange(w, device=images.device))[:, None, None, :]
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    channel = torch.arange(c, device=images.device)[None, :, None, None]
    shifted = padded[batch, channel, rows, cols]
    if moves.flip is not None:
        shifted = torch.where(moves.flip.to(images.device)[:, None, None, None], shifted.flip(3), shifted)
    return shifted


def _predict(model: Any, data: _DeviceData, indices: np.ndarray, batch_size: int, loss_fn: Any) -> tuple[float, np.ndarray]:
    """Mean loss and class probabilities over ``indices``, in evaluation mode."""
    import torch

    model.eval()
    if len(indices) == 0:
        return 0.0, np.zeros((0, data.num_classes))
    probabilities, loss_sum = [], 0.0
    with torch.no_grad():
        for start in range(0, len(indices), batch_size):
            index = torch.as_tensor(indices[start : start + batch_size])
            logits = model(data.batch(index)).float()
            loss_sum += loss_fn(logits, data.labels[index.to(data.labels.device)]).item() * len(index)
            probabilities.append(torch.softmax(logits, 1).cpu().numpy())
    return loss_sum / len(indices), np.concatenate(probabilities)


class ActivationRecorder:
    """Forward hooks on every Conv2d and Linear layer, active only while snapshotting."""

    def __init__(self, model: Any) -> None:
        import torch

        self.model = model
        self.layers = [
            (name, module) for name, module in model.named_modules()
            if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))
        ]
        self.first_conv = next((m for _, m in self.layers if isinstance(m, torch.nn.Conv2d)), None)
        self.outputs: dict[str, np.ndarray] = {}
        self.recording = False
        self.handles = [module.register_forward_hook(self._hook(name)) for name, module in self.layers]

    def _hook(self, name: str) -> Any:
        def record(module: Any, inputs: Any, output: Any) -> None:
            if self.recording:
                self.outputs[name] = output[0, :ACTIVATION_CHANNELS].detach().float().cpu().numpy() \
                    if output.dim() == 4 else output[0].detach().float().cpu().numpy()
        return record

    def snapshot(self, pipeline: str, epoch: int, batch: int, probe: Any, probe_index: int) -> ActivationSnapshot:
        import torch

        self.model.eval()
        self.outputs = {}
        self.recording = True
        try:
            with torch.no_grad():
                self.model(probe)
        finally:
            self.recording = False
        filters = self.first_conv.weight.detach().float().cpu().numpy().copy() if self.first_conv is not None else None
        return ActivationSnapshot(pipeline, epoch, batch, self.outputs, filters, probe_index)

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()
