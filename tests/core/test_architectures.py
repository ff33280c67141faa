"""The architecture comparison: every network trained on the same data, counted and timed."""

import pytest

from cvstudio import DatasetSpec, hookimpl
from cvstudio.cli import format_summary
from cvstudio.core.architectures import BATCHES, LatencyMeasured
from cvstudio.core.experiment import (
    ExperimentError,
    PipelineFinished,
    bundled_lesson,
    load_experiment,
    parse_experiment,
    run_experiment,
)
from cvstudio.core.runs import RunStore
from cvstudio.core.tasks import TaskState, drain
from cvstudio.core.training import EpochEnd


class TinyData:
    @hookimpl
    def cvstudio_register_datasets(self):
        return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset")]


@pytest.fixture
def registry(cvstudio_registry_with):
    return cvstudio_registry_with(TinyData())


def architectures(*models, **study):
    return {
        "title": "Tiny architectures",
        "study": {"kind": "architectures", "repeats": 2, **study},
        "dataset": {"name": "tiny"},
        "split": {"val": 0.25, "test": 0.25},
        "deep": [{"model": m, "epochs": 1, "batch_size": 8, "device": "cpu"} for m in models],
    }


def test_each_network_is_trained_counted_and_timed(registry, tmp_path):
    experiment = parse_experiment(architectures("mlp", "lenet5"), registry)
    run = RunStore(tmp_path).create(experiment.title)
    events, summary = drain(run_experiment(experiment, registry, run, TaskState()))

    assert [e.pipeline for e in events if isinstance(e, PipelineFinished)] == ["mlp", "lenet5"]
    assert [e.pipeline for e in events if isinstance(e, EpochEnd)] == ["mlp", "lenet5"]
    latencies = [e for e in events if isinstance(e, LatencyMeasured)]
    assert [sorted(e.milliseconds) for e in latencies] == [list(BATCHES)] * 2
    record = summary["pipelines"]["lenet5"]
    assert record["year"] == 1998 and record["title"] == "LeNet-5" and record["model"] == "lenet5"
    assert record["parameters"] > summary["pipelines"]["mlp"]["parameters"] / 100
    assert record["latency_ms_batch1"] > 0 and record["latency_ms_batch64"] > 0
    assert record["device"] == "cpu" and record["seconds"] > 0
    assert (run.path / record["evaluation"]).exists() and (run.path / record["checkpoint"]).exists()
    assert run.status == "completed" and run.read("summary.json") == summary
    table = format_summary(summary)
    assert "lenet5" in table and "1998" in table and f"{record['parameters']:,}" in table


def test_bad_options_are_named(registry):
    with pytest.raises(ExperimentError, match="unknown key 'batch' in \\[study\\] of kind 'architectures'"):
        parse_experiment(architectures("mlp", batch=3), registry)
    with pytest.raises(ExperimentError, match="nothing to run"):
        parse_experiment(architectures(), registry)


def test_bundled_lesson_has_the_six_built_in_networks(cvstudio_registry):
    experiment = load_experiment(bundled_lesson("architectures"), cvstudio_registry)
    assert experiment.study.name == "architectures"
    assert [d.model.name for d in experiment.deep] == ["mlp", "lenet5", "vgg-small", "resnet18", "vit-small",
                                                       "mlp-mixer"]
    years = [cvstudio_registry.get("models", d.model.name).year for d in experiment.deep]
    assert years == sorted(years) and None not in years
