"""Architecture comparison: every ``[[deep]]`` network trained on the same data, then timed.

For each network: test accuracy, number of weights, training time, and
inference latency for one image and for a batch of 64 on the device it
trained on (the median of several runs after warm-up). Each network is a
full pipeline of the run (curves, evaluation, checkpoint), so the usual
views show it too; the summary adds the model's year and name, for the
table and the accuracy-against-size plot. Each network is one cell
(:mod:`cvstudio.core.pipeline_cells`): on a cluster the networks train side
by side, each timed on the node that trained it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generator, Mapping

from cvstudio.core.cells import CellContext, Executor, InProcess
from cvstudio.core.experiment import Experiment, open_summary, study_options, with_outcome
from cvstudio.core.hardware import median_milliseconds
from cvstudio.core.pipeline_cells import PipelineCell, run_pipelines
from cvstudio.core.runs import Run
from cvstudio.core.tasks import Progress, TaskState
from cvstudio.core.training import DeepResult
from cvstudio.plugins import Registry
from cvstudio.specs import Param

TITLE = "Architectures"
NEEDS_PIPELINES = True
KIND = "architectures"
RUNS_CELLS = True  # each network is an independent cell: they can run on a cluster (cvstudio.core.cells)
BATCHES = (1, 64)
OPTIONS = (
    Param("repeats", "int", 20, minimum=1, maximum=1000,
          help="Timed inference runs per batch size; the median is kept."),
)


@dataclass(frozen=True)
class LatencyMeasured:
    """How long one trained network takes to classify one image, and a batch of 64."""

    pipeline: str
    device: str
    milliseconds: dict[int, float]

    def describe(self) -> str:
        times = ", ".join(f"batch {b}: {ms:.2f} ms" for b, ms in self.milliseconds.items())
        return f"  inference on {self.device}: {times}"


def parse_options(table: Mapping[str, Any]) -> dict[str, Any]:
    return study_options(table, OPTIONS, KIND)


def inference_milliseconds(model: Any, channels: int, image_size: tuple[int, int], device: str,
                           repeats: int, state: TaskState) -> dict[int, float]:
    """Median time of a forward pass (no gradients) for each batch size in :data:`BATCHES`."""
    import torch

    model.eval()
    target = torch.device(device)
    times = {}
    for batch in BATCHES:
        images = torch.randn(batch, channels, *image_size, device=target)
        with torch.no_grad():
            times[batch] = round(median_milliseconds(lambda: model(images), target, repeats, state), 3)
    return times


@dataclass(frozen=True)
class NetworkCell(PipelineCell):
    """One network of the comparison: trained as a pipeline of the run, then timed where it trained."""

    repeats: int

    def measured(self, trained: DeepResult, context: CellContext,
                 state: TaskState) -> Generator[Any, None, dict[str, Any]]:
        yield Progress(self.label, "timing inference", 0, 1)
        latency = inference_milliseconds(trained.model, context.dataset.channels, context.dataset.image_size,
                                         trained.device, self.repeats, state)
        yield LatencyMeasured(self.label, trained.device, latency)
        spec = context.registry.get("models", self.pipeline.model.name)
        return {"model": spec.name, "title": spec.display_name, "year": spec.year,
                **{f"latency_ms_batch{b}": ms for b, ms in latency.items()}}


def run(experiment: Experiment, registry: Registry, run: Run, state: TaskState,
        executor: Executor | None = None) -> Generator[Any, None, dict[str, Any]]:
    """Train and time each network; each ends with a PipelineFinished carrying its record.

    ``executor`` says where the networks train (default: here, one after the other; a network
    that raises stops the study).
    """
    summary = open_summary(experiment, run, pipelines={})
    cells = [NetworkCell(pipeline, experiment.study.params["repeats"]) for pipeline in experiment.deep]
    return (yield from with_outcome(run, summary, run_pipelines(experiment, registry, run, state, summary, cells,
                                                                executor or InProcess())))


def format_summary(summary: Mapping[str, Any]) -> str:
    """One line per network: year, weights, test accuracy, training time, inference latency."""
    lines = [f"{summary['title']} — {summary.get('status', 'running')}"]
    width = max((len(name) for name in summary.get("pipelines", {})), default=7)
    lines.append(f"{'network':<{width}}  year  {'weights':>10}  test acc  train s  "
                 + "  ".join(f"{f'ms/batch {b}':>11}" for b in BATCHES))
    for name, r in summary.get("pipelines", {}).items():
        lines.append(f"{name:<{width}}  {r.get('year') or '':>4}  {r['parameters']:>10,}  {r['test_accuracy']:>8.3f}  "
                     f"{r['seconds']:>7.1f}  " + "  ".join(f"{r[f'latency_ms_batch{b}']:>11.2f}" for b in BATCHES))
    return "\n".join(lines)
