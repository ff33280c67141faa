"""A run's pipelines as cells: the head-to-head comparison and the architectures study, run here or
elsewhere (as on a cluster's worker: without the run folder, the results sent back), into the same run folder.

The cluster itself is in test_cluster.py; here an executor runs the cells in this process as a worker
would, so that what the study saves from a cell's returned value is checked quickly, without Ray.
"""

import io
from dataclasses import replace

import pytest
import torch

from cvstudio import ClassifierSpec, DatasetSpec, hookimpl
from cvstudio.cli.progress import ProgressPrinter
from cvstudio.core.cells import CellDone, CellFailed, CellStarted
from cvstudio.core.experiment import (
    PipelineFailed,
    PipelineFinished,
    PipelinesFailed,
    PipelineStarted,
    parse_experiment,
    run_experiment,
)
from cvstudio.core.runs import RunStore
from cvstudio.core.tasks import TaskState
from cvstudio.core.training import ActivationSnapshot, BatchEnd, CheckpointSaved, EpochEnd

NODE = "f00dfeed" * 7


class TinyData:
    @hookimpl
    def cvstudio_register_datasets(self):
        return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset")]


def _raise():
    raise ValueError("no estimator today")


class BrokenClassifier:
    @hookimpl
    def cvstudio_register_classifiers(self):
        return [ClassifierSpec(name="broken", description="Raises.", factory=_raise)]


@pytest.fixture
def registry(cvstudio_registry_with):
    return cvstudio_registry_with(TinyData(), BrokenClassifier())


HEAD_TO_HEAD = {
    "title": "Tiny head to head",
    "dataset": {"name": "tiny"},
    "split": {"val": 0.25, "test": 0.25},
    "classical": [{"features": ["color-moments"], "classifier": "logistic-regression"}],
    "deep": [{"model": "mlp", "epochs": 2, "batch_size": 8, "device": "cpu"},
             {"model": "lenet5", "epochs": 1, "batch_size": 8, "device": "cpu"}],
}
ARCHITECTURES = {**HEAD_TO_HEAD, "title": "Tiny architectures", "classical": [],
                 "study": {"kind": "architectures", "repeats": 2}}


class Elsewhere:
    """Runs each cell as a cluster's worker does (no run folder; only its start and result come back), last first."""

    def run(self, experiment, context, cells, state):
        there = replace(context, run=None)
        for index in reversed(range(len(cells))):
            yield CellStarted(cells[index].label, NODE)
            work = cells[index].run(there, state)
            while True:
                try:
                    next(work)  # a worker's events stay on the worker (its epochs aside, which RayCells sends)
                except StopIteration as stop:
                    yield CellDone(index, stop.value, NODE)
                    break
                except Exception as exc:  # noqa: BLE001 - a worker's failure comes back as a CellFailed
                    yield CellFailed(index, cells[index].label, f"cell '{cells[index].label}' raised: {exc}", exc)
                    break


def run_study(data, registry, folder, executor=None):
    experiment = parse_experiment(data, registry)
    run = RunStore(folder).create(experiment.title)
    events, error = [], None
    try:
        for event in run_experiment(experiment, registry, run, TaskState(), executor=executor):
            events.append(event)
    except Exception as exc:  # noqa: BLE001 - the test looks at it
        error = exc
    return run, events, error


def files(run):
    return sorted(str(p.relative_to(run.path)) for p in run.path.rglob("*") if p.is_file())


TIMED = {"seconds", "images_per_s", "time", "latency_ms_batch1", "latency_ms_batch64"}


def untimed(record):
    return {k: v for k, v in record.items() if k not in TIMED}


def weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.mark.parametrize("study", [HEAD_TO_HEAD, ARCHITECTURES], ids=["compare", "architectures"])
def test_cells_run_elsewhere_make_the_run_a_local_run_makes(study, registry, tmp_path):
    local, here, error = run_study(study, registry, tmp_path / "local")
    assert error is None
    remote, there, error = run_study(study, registry, tmp_path / "elsewhere", Elsewhere())
    assert error is None and remote.status == "completed"

    assert files(remote) == files(local)
    summary_here, summary_there = local.read("summary.json"), remote.read("summary.json")
    assert list(summary_there["pipelines"]) == list(summary_here["pipelines"])  # the experiment's order
    for label, record in summary_here["pipelines"].items():
        assert "node" not in record
        assert untimed(summary_there["pipelines"][label]) == {**untimed(record), "node": NODE}
        assert remote.read(record["evaluation"]) == local.read(record["evaluation"])
        if record["kind"] == "deep":
            saved_here = weights(local.path / record["checkpoint"])
            saved_there = weights(remote.path / record["checkpoint"])
            assert saved_here.keys() == saved_there.keys()
            assert all(torch.equal(saved_here[k], saved_there[k]) for k in saved_here)
    curves_here = [untimed(r) for r in local.metrics() if r["kind"] == "epoch"]
    curves_there = [untimed(r) for r in remote.metrics() if r["kind"] == "epoch"]
    assert sorted(curves_there, key=lambda r: r["pipeline"]) == sorted(curves_here, key=lambda r: r["pipeline"])
    assert sum(r["kind"] == "final" for r in remote.metrics()) == len(summary_here["pipelines"])
    # The views hear of every pipeline's start and end, elsewhere too; the live batches and maps only from here.
    for events in (here, there):
        assert {e.pipeline for e in events if isinstance(e, PipelineStarted)} == set(summary_here["pipelines"])
        assert {e.pipeline for e in events if isinstance(e, PipelineFinished)} == set(summary_here["pipelines"])
    for live in (BatchEnd, EpochEnd, ActivationSnapshot, CheckpointSaved):
        assert any(isinstance(e, live) for e in here) and not any(isinstance(e, live) for e in there)
    # In the terminal, a pipeline finished on a node is named with it: the cells end in any order there.
    assert "  done: lenet5 on node f00dfeedf00d: val acc " in printed(there)
    assert "  done: val acc " in printed(here) and " on node " not in printed(here)


def printed(events):
    stream = io.StringIO()
    printer = ProgressPrinter(stream)
    for event in events:
        printer.show(event)
    return stream.getvalue()


def test_a_failing_pipeline_elsewhere_is_recorded_by_name_and_the_others_finish(registry, tmp_path):
    broken = {**HEAD_TO_HEAD, "classical": [{"label": "broken", "features": ["color-moments"], "classifier": "broken"}]}
    run, events, error = run_study(broken, registry, tmp_path, Elsewhere())
    assert isinstance(error, PipelinesFailed)
    assert "1 of 3 pipeline(s) failed ('broken': cell 'broken' raised: " in str(error)
    (failed,) = [e for e in events if isinstance(e, PipelineFailed)]
    assert failed.pipeline == "broken" and "ValueError: no estimator today" in failed.traceback
    summary = run.read("summary.json")
    assert run.status == "failed" and set(summary["pipelines"]) == {"mlp", "lenet5"}
    assert summary["failed"]["broken"]["kind"] == "classical"
    assert "no estimator today" in (run.path / "log.txt").read_text()


def test_a_network_that_raises_here_still_stops_the_architectures_study(registry, tmp_path):
    diverging = {**ARCHITECTURES, "deep": [{"model": "mlp", "epochs": 1, "batch_size": 8, "device": "cuda"}]}
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    run, events, error = run_study(diverging, registry, tmp_path)
    assert error is not None and "not available" in str(error) and not isinstance(error, PipelinesFailed)
    assert run.status == "failed"
