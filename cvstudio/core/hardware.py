"""GPU against CPU: the textbook's speed-up table, measured on this machine.

Three operations, each timed on the CPU and, when there is one, on a CUDA
GPU: multiplying two 1000×1000 matrices, one 3×3 convolution layer on a batch
of images, and one training step (forward, backward, update) of each
``[[deep]]`` network of the experiment on a batch of its images. Each time is
the median of several runs after a few warm-up runs, so start-up costs
(kernel compilation, memory allocation) do not count. Without a GPU the table
has its CPU column and a note that says so.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Generator, Mapping

from cvstudio.core.data import ImageDataset
from cvstudio.core.experiment import (
    dataset_ready,
    DeepConfig,
    Experiment,
    load_dataset,
    split_dataset,
    study_options,
    open_summary,
    with_outcome,
)
from cvstudio.core.runs import Run
from cvstudio.core.tasks import Progress, TaskState
from cvstudio.plugins import Registry
from cvstudio.specs import Param

TITLE = "GPU against CPU"
NEEDS_PIPELINES = False
KIND = "hardware"
WARMUP = 3
OPTIONS = (
    Param("repeats", "int", 10, minimum=1, maximum=1000, help="Timed runs of each operation; the median is kept."),
    Param("matrix_size", "int", 1000, minimum=16, maximum=8192, help="Side of the two square matrices multiplied."),
    Param("conv_channels", "int", 64, minimum=1, maximum=1024,
          help="Input and output channels of the 3×3 convolution layer."),
    Param("batch_size", "int", 64, minimum=1, maximum=4096,
          help="Images in the batch the convolution and the training steps run on."),
)
NO_GPU_NOTE = ("No CUDA GPU was found on this machine, so only the CPU column is measured. On a computer with an "
               "NVIDIA GPU and a CUDA build of PyTorch the GPU column and the speed-up appear.")


@dataclass(frozen=True)
class Timing:
    """One operation timed on one device: the median of ``repeats`` runs, in milliseconds."""

    operation: str
    detail: str
    device: str
    milliseconds: float

    def describe(self) -> str:
        return f"  {self.operation} ({self.detail}) on {self.device}: {self.milliseconds:.2f} ms"


@dataclass(frozen=True)
class DevicesFound:
    """What will be timed: the CPU, and the CUDA GPU's name or None."""

    cpu: str
    gpu: str | None

    @property
    def note(self) -> str:
        return NO_GPU_NOTE if self.gpu is None else ""

    def describe(self) -> str:
        return f"devices: CPU ({self.cpu}); GPU: {self.gpu or 'none'}" + (f"\n{self.note}" if self.note else "")


def add_timing(rows: dict[str, dict[str, Any]], timing: Timing) -> None:
    """Enter one timing into the table ``rows`` (operation → row), with the speed-up once both are known."""
    row = rows.setdefault(timing.operation, {"operation": timing.operation, "detail": timing.detail,
                                             "cpu_ms": None, "gpu_ms": None, "speedup": None})
    row["cpu_ms" if timing.device == "cpu" else "gpu_ms"] = timing.milliseconds
    if row["cpu_ms"] and row["gpu_ms"]:
        row["speedup"] = round(row["cpu_ms"] / row["gpu_ms"], 1)


def parse_options(table: Mapping[str, Any]) -> dict[str, Any]:
    return study_options(table, OPTIONS, KIND)


def median_milliseconds(operation: Callable[[], Any], device: Any, repeats: int, state: TaskState) -> float:
    """Median wall time of ``operation`` after warm-up runs; waits for a GPU to finish each run."""
    import torch

    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(WARMUP):
        operation()
    synchronize()
    times = []
    for _ in range(repeats):
        state.check()
        started = time.perf_counter()
        operation()
        synchronize()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def gpu_name() -> str | None:
    """The CUDA GPU's name, or None without one (or without a CUDA build of PyTorch)."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def operations(experiment: Experiment, registry: Registry, dataset: ImageDataset,
               device: Any) -> list[tuple[str, str, Callable[[], Any]]]:
    """(operation, detail, run once) for each row of the table, with inputs already on ``device``."""
    import torch

    options = experiment.study.params
    generator = torch.Generator().manual_seed(0)
    n, channels, batch = options["matrix_size"], options["conv_channels"], options["batch_size"]
    a, b = (torch.randn(n, n, generator=generator).to(device) for _ in range(2))
    conv = torch.nn.Conv2d(channels, channels, 3, padding=1).to(device)
    height, width = dataset.image_size
    feature_maps = torch.randn(batch, channels, height, width, generator=generator).to(device)
    rows = [
        ("Matrix multiply", f"{n}×{n} float32", lambda: a @ b),
        ("Conv2D layer", f"3×3, {channels}→{channels} channels, {batch} images of {height}×{width}",
         torch.no_grad()(lambda: conv(feature_maps))),
    ]
    images = min(batch, len(dataset))
    for pipeline in experiment.deep:
        rows.append((f"Training step: {pipeline.label}", f"forward, backward and update on {images} images",
                     _training_step(pipeline, registry, dataset, device, images)))
    return rows


def _training_step(pipeline: DeepConfig, registry: Registry, dataset: ImageDataset, device: Any,
                   batch: int) -> Callable[[], None]:
    import torch

    from cvstudio.core.training import build_model

    torch.manual_seed(0)
    model = build_model(registry.get("models", pipeline.model.name), pipeline.model.params, dataset).to(device)
    images = torch.from_numpy(dataset.images[:batch]).permute(0, 3, 1, 2).float().div(255).to(device)
    labels = torch.from_numpy(dataset.labels[:batch]).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)  # the step's cost, not its result

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()

    return step


def run(experiment: Experiment, registry: Registry, run: Run, state: TaskState) -> Generator[Any, None, dict[str, Any]]:
    """Time every operation on the CPU, then on the GPU when there is one; a :class:`Timing` per cell."""
    summary = open_summary(experiment, run, **experiment.study.params, rows=[], devices={})
    return (yield from with_outcome(run, summary, _measure(experiment, registry, run, state, summary)))


def _measure(experiment: Experiment, registry: Registry, run: Run, state: TaskState,
             summary: dict[str, Any]) -> Generator[Any, None, None]:
    import torch

    dataset = load_dataset(experiment, registry)
    split = split_dataset(experiment, dataset)
    yield dataset_ready(experiment, dataset, split, run, summary)
    found = DevicesFound(f"{torch.get_num_threads()} threads", gpu_name())
    summary["devices"] = {"cpu": found.cpu, "cuda": found.gpu}
    if found.note:
        summary["note"] = found.note
    yield found
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if found.gpu else [])
    repeats = experiment.study.params["repeats"]
    rows: dict[str, dict[str, Any]] = {}
    for device in devices:
        table = operations(experiment, registry, dataset, device)
        for done, (operation, detail, action) in enumerate(table):
            yield Progress(KIND, f"timing on {device.type}", done, len(table))
            milliseconds = median_milliseconds(action, device, repeats, state)
            timing = Timing(operation, detail, device.type, round(milliseconds, 3))
            add_timing(rows, timing)
            summary["rows"] = list(rows.values())
            run.append_metrics({**asdict(timing), "kind": "timing", "time": time.time()})
            run.write("summary.json", summary)
            yield timing


def format_summary(summary: Mapping[str, Any]) -> str:
    """The table as text: operation, CPU time, GPU time, speed-up."""
    def cell(value: float | None, unit: str) -> str:
        return f"{value:.2f} {unit}" if value is not None else "—"

    lines = [f"{summary['title']} — {summary.get('status', 'running')}"]
    width = max((len(r["operation"]) for r in summary.get("rows", [])), default=9)
    lines.append(f"{'operation':<{width}}  {'CPU':>12}  {'GPU':>12}  {'speed-up':>8}")
    for row in summary.get("rows", []):
        lines.append(f"{row['operation']:<{width}}  {cell(row['cpu_ms'], 'ms'):>12}  {cell(row['gpu_ms'], 'ms'):>12}  "
                     f"{cell(row['speedup'], '×'):>8}")
    if summary.get("note"):
        lines.append(summary["note"])
    return "\n".join(lines)
