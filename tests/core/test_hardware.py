"""The GPU-against-CPU study: the CPU column always, the GPU column only with CUDA, an honest note without."""

import pytest

from cvstudio import DatasetSpec, hookimpl
from cvstudio.cli import format_summary
from cvstudio.core.experiment import ExperimentError, bundled_lesson, load_experiment, parse_experiment, run_experiment
from cvstudio.core.hardware import NO_GPU_NOTE, DevicesFound, Timing, add_timing, median_milliseconds
from cvstudio.core.runs import RunStore
from cvstudio.core.tasks import Cancelled, TaskState, drain

torch = pytest.importorskip("torch")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class TinyData:
    @hookimpl
    def cvstudio_register_datasets(self):
        return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset")]


@pytest.fixture
def registry(cvstudio_registry_with):
    return cvstudio_registry_with(TinyData())


def hardware(deep=(), **study):
    return {
        "title": "Tiny hardware",
        "study": {"kind": "hardware", "repeats": 2, "matrix_size": 32, "conv_channels": 4, "batch_size": 8, **study},
        "dataset": {"name": "tiny"},
        "deep": list(deep),
    }


def test_the_study_needs_no_pipelines_and_times_each_operation(registry, tmp_path):
    experiment = parse_experiment(hardware(deep=[{"label": "LeNet", "model": "lenet5"}]), registry)
    run = RunStore(tmp_path).create(experiment.title)
    events, summary = drain(run_experiment(experiment, registry, run, TaskState()))

    (found,) = [e for e in events if isinstance(e, DevicesFound)]
    timings = [e for e in events if isinstance(e, Timing)]
    devices = ["cpu", "cuda"] if found.gpu else ["cpu"]
    assert [(t.operation, t.device) for t in timings] == [
        (op, device) for device in devices for op in ("Matrix multiply", "Conv2D layer", "Training step: LeNet")]
    assert all(t.milliseconds > 0 for t in timings)
    assert "32×32" in timings[0].detail and "8 images" in timings[2].detail
    assert run.status == "completed" and run.read("summary.json") == summary
    assert [r["cpu_ms"] for r in summary["rows"]] == [t.milliseconds for t in timings[:3]]
    assert [r["kind"] for r in run.metrics()] == ["timing"] * len(timings)
    assert "Matrix multiply" in format_summary(summary)


def test_without_cuda_the_gpu_column_is_empty_and_the_note_says_why(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    experiment = parse_experiment(hardware(), registry)
    run = RunStore(tmp_path).create(experiment.title)
    _, summary = drain(run_experiment(experiment, registry, run, TaskState()))
    assert summary["devices"]["cuda"] is None and summary["note"] == NO_GPU_NOTE
    assert [r["operation"] for r in summary["rows"]] == ["Matrix multiply", "Conv2D layer"]
    assert all(r["gpu_ms"] is None and r["speedup"] is None for r in summary["rows"])
    assert "No CUDA GPU" in format_summary(summary) and "—" in format_summary(summary)


@needs_cuda
def test_with_cuda_every_row_has_a_gpu_time_and_a_speedup(registry, tmp_path):
    experiment = parse_experiment(hardware(deep=[{"label": "LeNet", "model": "lenet5"}]), registry)
    run = RunStore(tmp_path).create(experiment.title)
    _, summary = drain(run_experiment(experiment, registry, run, TaskState()))
    assert "note" not in summary and summary["devices"]["cuda"]
    for row in summary["rows"]:
        assert row["gpu_ms"] > 0 and row["speedup"] == pytest.approx(row["cpu_ms"] / row["gpu_ms"], rel=0.06)


def test_speedup_appears_once_both_devices_are_timed():
    rows = {}
    add_timing(rows, Timing("Matrix multiply", "n", "cpu", 100.0))
    assert rows["Matrix multiply"]["speedup"] is None
    add_timing(rows, Timing("Matrix multiply", "n", "cuda", 5.0))
    assert rows["Matrix multiply"]["speedup"] == 20.0


def test_median_ignores_a_slow_outlier_and_honours_cancel():
    calls = []

    def operation():
        calls.append(1)

    assert median_milliseconds(operation, torch.device("cpu"), 5, TaskState()) >= 0
    assert len(calls) == 3 + 5  # warm-up runs, then the timed ones
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        median_milliseconds(operation, torch.device("cpu"), 5, state)


@pytest.mark.parametrize("study, message", [
    ({"repeats": 0}, "below its minimum"),
    ({"devices": "all"}, "unknown key 'devices'"),
])
def test_bad_options_are_named(registry, study, message):
    with pytest.raises(ExperimentError, match=message):
        parse_experiment(hardware(**study), registry)


def test_bundled_lesson_parses(cvstudio_registry):
    experiment = load_experiment(bundled_lesson("gpu-vs-cpu"), cvstudio_registry)
    assert experiment.study.name == "hardware" and experiment.study.params["matrix_size"] == 1000
