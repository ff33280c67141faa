"""A run's pipelines as cells: each trained (or fitted) once, and saved as a full pipeline of the run.

The head-to-head comparison (every pipeline once, :func:`head_to_head`) and
the architectures study (every network, then timed) are lists of such cells,
run by an executor (:mod:`cvstudio.core.cells`). Run here, the default, a cell
saves its network's epochs and checkpoint into the run as it trains, and the
window draws its batches and feature maps live, as it always has. On a
cluster's worker, where the run folder is not, the cell sends them back with
its result and the study saves them when the cell finishes. Either way the
study then saves the pipeline's evaluation and its line of the summary, with
the node it ran on when that was a cluster's.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, replace
from typing import Any, Generator, Sequence

from cvstudio.core.cells import CellContext, CellDone, CellFailed, CellStarted, Executor, InProcess
from cvstudio.core.classical import run_classical
from cvstudio.core.data import ImageDataset
from cvstudio.core.experiment import (
    build_classifier,
    build_extractor,
    ClassicalConfig,
    dataset_ready,
    deep_record,
    DeepConfig,
    Experiment,
    finish_pipeline,
    load_dataset,
    open_summary,
    PipelineFailed,
    PipelineFinished,
    PipelinesFailed,
    PipelineStarted,
    record_epoch,
    split_dataset,
    train_deep,
    with_outcome,
)
from cvstudio.core.runs import atomic_write, Run
from cvstudio.core.tasks import TaskState
from cvstudio.core.training import checkpoint_bytes, DeepResult, train_model
from cvstudio.plugins import Registry


@dataclass(frozen=True)
class PipelineCell:
    """One pipeline of the run, trained or fitted once on the whole training part.

    Its value: ``result`` (the pipeline's evaluations and timings, without the
    model), ``record`` (what the study's summary adds about it) and, from a
    cluster's worker, the network's ``epochs`` and ``checkpoint`` to save.
    """

    pipeline: ClassicalConfig | DeepConfig

    @property
    def label(self) -> str:
        return self.pipeline.label

    @property
    def kind(self) -> str:
        return "classical" if isinstance(self.pipeline, ClassicalConfig) else "deep"

    def run(self, context: CellContext, state: TaskState) -> Generator[Any, None, dict[str, Any]]:
        yield PipelineStarted(self.label, self.kind)
        if isinstance(self.pipeline, ClassicalConfig):
            classifier = build_classifier(self.pipeline.classifier, context.registry)
            result = yield from run_classical(self.label, build_extractor(self.pipeline, context.registry),
                                              classifier, context.dataset, context.split, state)
            return {"result": replace(result, model=None), "record": {
                "feature_dim": result.feature_dim, "seconds": round(result.extract_seconds + result.fit_seconds, 3)}}
        trained, unsaved = yield from self._train(context, state)
        record = yield from self.measured(trained, context, state)
        return {"result": replace(trained, model=None), "record": record, **unsaved}

    def _train(self, context: CellContext, state: TaskState) -> Generator[Any, None, tuple[DeepResult, dict[str, Any]]]:
        """The trained network, and what of it the run has not saved yet (all of it on a worker)."""
        pipeline = self.pipeline
        if context.run is not None:
            trained = yield from train_deep(pipeline, context.registry, context.dataset, context.split, context.run,
                                            state)
            return trained, {}
        spec = context.registry.get("models", pipeline.model.name)
        trained = yield from train_model(spec, pipeline.model.params, context.dataset, context.split,
                                         pipeline.training, state, self.label)
        return trained, {"epochs": trained.history, "checkpoint": checkpoint_bytes(
            trained.model, spec, pipeline.model.params, context.dataset, trained.normalization, len(trained.history))}

    def measured(self, trained: DeepResult, context: CellContext,
                 state: TaskState) -> Generator[Any, None, dict[str, Any]]:
        """What the study records of a trained network besides its training (the architectures study times it)."""
        yield from ()
        return {}


def head_to_head(experiment: Experiment, registry: Registry, run: Run, state: TaskState,
                 executor: Executor | None = None,
                 dataset: ImageDataset | None = None) -> Generator[Any, None, dict[str, Any]]:
    """The default study: every pipeline once, head to head, each recorded as it finishes.

    A pipeline that fails is recorded as such and the others go on (the run then ends with
    :class:`PipelinesFailed`), here as on a cluster.
    """
    summary = open_summary(experiment, run, pipelines={})
    cells = [PipelineCell(p) for p in (*experiment.classical, *experiment.deep)]
    return (yield from with_outcome(run, summary, run_pipelines(
        experiment, registry, run, state, summary, cells, executor or InProcess(isolated=True), dataset)))


def run_pipelines(experiment: Experiment, registry: Registry, run: Run, state: TaskState, summary: dict[str, Any],
                  cells: Sequence[PipelineCell], executor: Executor,
                  dataset: ImageDataset | None = None) -> Generator[Any, None, None]:
    """Load the dataset, run ``cells`` with ``executor`` and save each pipeline in ``run`` as it finishes.

    ``dataset`` is the experiment's where the caller holds it already. A cell that fails is recorded
    in the summary's ``failed`` table (label → kind, error) and the others go on; then
    :class:`PipelinesFailed` ends the study.
    """
    dataset = dataset if dataset is not None else load_dataset(experiment, registry)
    split = split_dataset(experiment, dataset)
    yield dataset_ready(experiment, dataset, split, run, summary)
    by_label = {cell.label: cell for cell in cells}
    failures = []
    for event in executor.run(experiment, CellContext(registry, dataset, split, run), cells, state):
        if isinstance(event, CellDone):
            yield _save(run, summary, cells[event.index], event)
        elif isinstance(event, CellFailed):
            failures.append(event)
            yield _failed(run, summary, cells[event.index], event)
        elif isinstance(event, CellStarted):  # on a cluster's node: the views learn of it as of a local start
            if event.attempt == 1:
                yield PipelineStarted(event.label, by_label[event.label].kind)
            yield event
        else:
            yield event
    done = summary["pipelines"]  # listed in the experiment's order, however the cells finished
    summary["pipelines"] = {cell.label: done[cell.label] for cell in cells if cell.label in done}
    if failures:
        raise PipelinesFailed(summary) from failures[0].cause  # its traceback comes with the run's error details


def _save(run: Run, summary: dict[str, Any], cell: PipelineCell, done: CellDone) -> PipelineFinished:
    """Save a finished cell: what its worker sent back, then its evaluation and summary line."""
    value = done.value
    for epoch in value.get("epochs", ()):
        record_epoch(run, epoch)
    if "checkpoint" in value:
        atomic_write(run.checkpoint_path(cell.label), lambda tmp: tmp.write_bytes(value["checkpoint"]))
    result = value["result"]
    record = {**(deep_record(result, run) if cell.kind == "deep" else {}), **value["record"]}
    if done.node is not None:  # a pipeline trained here says nothing of nodes: its run is as it always was
        record["node"] = done.node
    return finish_pipeline(run, summary, result, cell.kind, record)


def _failed(run: Run, summary: dict[str, Any], cell: PipelineCell, failed: CellFailed) -> PipelineFailed:
    summary.setdefault("failed", {})[cell.label] = {"kind": cell.kind, "error": failed.error}
    run.write("summary.json", summary)
    details = "".join(traceback.format_exception(failed.cause)) if failed.cause is not None else ""
    run.log(f"{cell.kind} pipeline '{cell.label}' failed: {failed.error}\n{details}")
    return PipelineFailed(cell.label, cell.kind, failed.error, details)
