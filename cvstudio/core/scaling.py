"""Data scaling: test accuracy against the number of training images, for every pipeline.

The experiment's classical pipelines and networks are trained again and
again on growing, class-balanced samples of the training part (validation
and test stay fixed), each size with several seeds, so each point of the
curve is a mean with its spread. The first seed goes through every size
before the second starts, so a rough curve appears early and then firms up. Samples are nested: for a given seed the
100 images of a class include its 30 and its 10.

Training a network on 60 images for as many epochs as on 6000 would mean a
few dozen optimiser steps: the small model would lose for being
under-trained, not for lack of data. So every network gets at least
``min_steps`` optimiser steps: a small training set is repeated within each
epoch (as many more epochs would), while large sets train for the
pipeline's own epochs.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Generator, Mapping

import numpy as np

from cvstudio.core.cells import CellContext, CellDone, CellFailed, CellsFailed, Executor, InProcess
from cvstudio.core.classical import run_classical
from cvstudio.core.data import ImageDataset, Split
from cvstudio.core.experiment import (
    build_classifier,
    build_extractor,
    ClassicalConfig,
    dataset_ready,
    DeepConfig,
    Experiment,
    ExperimentError,
    load_dataset,
    split_dataset,
    study_options,
    open_summary,
    with_outcome,
)
from cvstudio.core.runs import Run
from cvstudio.core.tasks import Progress, TaskState
from cvstudio.core.training import BatchEnd, EpochEnd, TrainConfig, train_model
from cvstudio.plugins import Registry
from cvstudio.specs import Param

TITLE = "Data scaling"
NEEDS_PIPELINES = True
KIND = "scaling"
RUNS_CELLS = True  # its trainings are independent cells: they can run on a cluster (cvstudio.core.cells)
DEFAULT_SIZES = (10, 30, 100, 300, 1000)
OPTIONS = (
    Param("seeds", "int", 3, minimum=1, maximum=20,
          help="Repeats of every point with other images and other initial weights: the error bars."),
    Param("min_steps", "int", 300, minimum=1, maximum=100_000,
          help="Fewest optimiser steps a network gets, however small its training set."),
)


@dataclass(frozen=True)
class ScalingStarted:
    """The sweep's plan: every pipeline (label, kind) at every size (images per class), ``seeds`` times."""

    pipelines: tuple[tuple[str, str], ...]
    sizes: tuple[int, ...]
    seeds: int

    @property
    def total(self) -> int:
        return len(self.pipelines) * len(self.sizes) * self.seeds

    def describe(self) -> str:
        return (f"data scaling: {len(self.pipelines)} pipelines × sizes {list(self.sizes)} per class × "
                f"{self.seeds} seeds = {self.total} trainings")


@dataclass(frozen=True)
class ScalingPoint:
    """One pipeline trained on ``per_class`` images of each class with one seed, and how it did."""

    pipeline: str
    kind: str
    per_class: int
    train_images: int
    seed: int
    val_accuracy: float
    test_accuracy: float
    seconds: float
    steps: int | None  # a network's optimiser steps; None for a classical pipeline
    train_accuracy: float | None  # a network's accuracy on its training images in the last epoch
    done: int
    total: int
    node: str | None = None  # the cluster node it trained on; None when it trained here

    @property
    def cell(self) -> str:
        """The label of the cell that trained it, as that cell's events on a cluster name it."""
        return cell_label(self.pipeline, self.per_class, self.seed)

    def describe(self) -> str:
        where = f" on node {self.node[:12]}" if self.node else ""
        return (f"  [{self.done}/{self.total}] {self.pipeline}: {self.per_class} per class, seed {self.seed}: "
                f"test acc {self.test_accuracy:.3f} ({self.seconds:.1f} s{where})")


def cell_label(pipeline: str, per_class: int, seed: int) -> str:
    """How one training of the sweep is named in messages and in the window's live curves."""
    return f"{pipeline}, {per_class} per class, seed {seed}"


def parse_options(table: Mapping[str, Any]) -> dict[str, Any]:
    """``sizes`` (images per class, a list of whole numbers), ``seeds``, ``min_steps``."""
    options = study_options(table, OPTIONS, KIND, extra=frozenset({"sizes"}))
    sizes = table.get("sizes", list(DEFAULT_SIZES))
    if (not isinstance(sizes, list) or not sizes
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)):
        raise ExperimentError(f"[study] sizes must be a list of whole numbers of images per class, at least 1, "
                              f"e.g. sizes = [10, 100, 1000]; got {sizes!r}")
    return {"sizes": sorted(set(sizes)), **options}


def subsample(train: np.ndarray, labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """``per_class`` training images of each class, drawn with ``seed``; nested as ``per_class`` grows."""
    rng = np.random.default_rng(seed)
    members = [rng.permutation(train[labels[train] == c])[:per_class] for c in np.unique(labels[train])]
    return np.sort(np.concatenate(members))


def repeats_for(images: int, config: TrainConfig, min_steps: int) -> int:
    """How often to repeat a training set within an epoch so training takes at least ``min_steps`` steps."""
    return max(1, math.ceil(min_steps * config.batch_size / (config.epochs * images)))


def curves(points: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per pipeline: kind, sizes (per class) and the mean, spread (standard deviation) and count of
    test accuracy over seeds at each size."""
    grouped: dict[str, dict[int, list[float]]] = {}
    kinds: dict[str, str] = {}
    for point in points:
        grouped.setdefault(point["pipeline"], {}).setdefault(point["per_class"], []).append(point["test_accuracy"])
        kinds[point["pipeline"]] = point["kind"]
    result = {}
    for pipeline, by_size in grouped.items():
        sizes = sorted(by_size)
        values = [np.asarray(by_size[s]) for s in sizes]
        result[pipeline] = {
            "kind": kinds[pipeline],
            "per_class": sizes,
            "mean": [round(float(v.mean()), 4) for v in values],
            "std": [round(float(v.std()), 4) for v in values],
            "seeds": [len(v) for v in values],
        }
    return result


def run(experiment: Experiment, registry: Registry, run: Run, state: TaskState,
        executor: Executor | None = None) -> Generator[Any, None, dict[str, Any]]:
    """Sweep every pipeline over the sizes and seeds; each finished training is a :class:`ScalingPoint`.

    ``executor`` says where the trainings run (default: here, one after the other).
    """
    summary = open_summary(experiment, run, **experiment.study.params, points=[], curves={})
    sweep = _sweep(experiment, registry, run, state, summary, executor or InProcess())
    return (yield from with_outcome(run, summary, sweep))


@dataclass(frozen=True)
class ScalingCell:
    """One training of the sweep: a pipeline on ``per_class`` images of each class, drawn with ``seed``."""

    pipeline: ClassicalConfig | DeepConfig
    kind: str
    per_class: int
    seed: int
    min_steps: int

    @property
    def label(self) -> str:
        return cell_label(self.pipeline.label, self.per_class, self.seed)

    def run(self, context: CellContext, state: TaskState) -> Generator[Any, None, dict[str, Any]]:
        split = context.split
        part = Split(subsample(split.train, context.dataset.labels, self.per_class, self.seed), split.val, split.test)
        if isinstance(self.pipeline, ClassicalConfig):
            measured = yield from _fit_classical(self.pipeline, context.registry, context.dataset, part, state)
        else:
            measured = yield from _train_network(self.pipeline, context.registry, context.dataset, part, self.seed,
                                                 self.min_steps, state, keep_epochs=context.remote)
        return {"train_images": len(part.train), **measured}


def _sweep(experiment: Experiment, registry: Registry, run: Run, state: TaskState,
           summary: dict[str, Any], executor: Executor) -> Generator[Any, None, None]:
    options = experiment.study.params
    dataset = load_dataset(experiment, registry)
    split = split_dataset(experiment, dataset)
    _check_sizes(options["sizes"], dataset, split)
    ready = dataset_ready(experiment, dataset, split, run, summary)
    run.write("summary.json", summary)
    yield ready
    pipelines = [(p, "classical") for p in experiment.classical] + [(p, "deep") for p in experiment.deep]
    plan = ScalingStarted(tuple((p.label, kind) for p, kind in pipelines), tuple(options["sizes"]), options["seeds"])
    yield plan
    cells = [ScalingCell(pipeline, kind, per_class, seed, options["min_steps"])
             for seed in range(plan.seeds)  # a first pass over every size, then the others refine it
             for per_class in plan.sizes for pipeline, kind in pipelines]
    failures = []
    for event in executor.run(experiment, CellContext(registry, dataset, split, run), cells, state):
        if isinstance(event, CellDone):
            cell = cells[event.index]
            yield _record(run, summary, ScalingPoint(cell.pipeline.label, cell.kind, cell.per_class, seed=cell.seed,
                                                     **event.value, done=len(summary["points"]) + 1,
                                                     total=plan.total, node=event.node))
        elif isinstance(event, CellFailed):
            failures.append(event)
            summary.setdefault("failed", {})[event.label] = event.error
            run.write("summary.json", summary)
            run.log(event.error)
            yield event
        else:
            yield event
    if failures:
        raise CellsFailed(failures, plan.total)


def _fit_classical(pipeline: ClassicalConfig, registry: Registry, dataset: ImageDataset, split: Split,
                   state: TaskState) -> Generator[Any, None, dict[str, Any]]:
    result = yield from run_classical(pipeline.label, build_extractor(pipeline, registry),
                                      build_classifier(pipeline.classifier, registry), dataset, split, state)
    return {"val_accuracy": result.val.accuracy, "test_accuracy": result.test.accuracy,
            "seconds": round(result.extract_seconds + result.fit_seconds, 3), "steps": None, "train_accuracy": None}


def _train_network(pipeline: DeepConfig, registry: Registry, dataset: ImageDataset, split: Split, seed: int,
                   min_steps: int, state: TaskState, keep_epochs: bool = False) -> Generator[Any, None, dict[str, Any]]:
    """Train with this seed for the pipeline's epochs, the training set repeated up to ``min_steps`` steps."""
    config = replace(pipeline.training, seed=pipeline.training.seed + seed, snapshot_interval_s=math.inf)
    repeated = replace(split, train=np.tile(split.train, repeats_for(len(split.train), config, min_steps)))
    events = train_model(registry.get("models", pipeline.model.name), pipeline.model.params, dataset, repeated,
                         config, state, pipeline.label)
    result = yield from _progress_only(events, keep_epochs)
    return {"val_accuracy": result.val.accuracy, "test_accuracy": result.test.accuracy,
            "seconds": round(result.train_seconds, 3),
            "steps": config.epochs * math.ceil(len(repeated.train) / config.batch_size),
            "train_accuracy": result.history[-1].train_accuracy}


def _check_sizes(sizes: list[int], dataset: ImageDataset, split: Split) -> None:
    counts = np.bincount(dataset.labels[split.train], minlength=dataset.num_classes)
    smallest = int(counts.argmin())
    if sizes[-1] > counts[smallest]:
        raise ExperimentError(
            f"[study] sizes: {sizes[-1]} images per class is more than the {counts[smallest]} training images "
            f"of class '{dataset.class_names[smallest]}'; lower the largest size or give the dataset more images"
        )


def _progress_only(events: Generator[Any, None, Any], keep_epochs: bool = False) -> Generator[Any, None, Any]:
    """Pass on a training's progress, not its per-epoch events: one sweep trains dozens of networks.

    On a cluster's worker (``keep_epochs``) the epochs go on too: they are how a running cell is watched.
    """
    kept = (Progress, BatchEnd, EpochEnd) if keep_epochs else (Progress, BatchEnd)
    while True:
        try:
            event = next(events)
        except StopIteration as stop:
            return stop.value
        if isinstance(event, kept):
            yield event


def _record(run: Run, summary: dict[str, Any], point: ScalingPoint) -> ScalingPoint:
    record = asdict(point)
    if point.node is None:  # a point trained here says nothing of nodes: its run is as it always was
        del record["node"]
    summary["points"].append(record)
    summary["curves"] = curves(summary["points"])
    run.append_metrics({**record, "kind": "scaling-point", "pipeline_kind": point.kind, "time": time.time()})
    run.write("summary.json", summary)
    run.log(point.describe().strip())
    return point


def format_summary(summary: Mapping[str, Any]) -> str:
    """The curves as a table: mean ± spread of test accuracy per pipeline and size."""
    lines = [f"{summary['title']} — {summary.get('status', 'running')}"]
    table = summary.get("curves", {})
    sizes = sorted({s for c in table.values() for s in c["per_class"]})
    width = max((len(name) for name in table), default=8)
    lines.append(f"{'per class':<{width}}  " + "  ".join(f"{s:>11}" for s in sizes))
    for name, curve in table.items():
        cells = dict(zip(curve["per_class"], zip(curve["mean"], curve["std"])))
        lines.append(f"{name:<{width}}  " + "  ".join(
            f"{cells[s][0]:>5.3f}±{cells[s][1]:.3f}" if s in cells else f"{'—':>11}" for s in sizes))
    return "\n".join(lines)
