"""The data-scaling study on tiny data: the sweep, its events, its saved run, its errors."""

import json

import numpy as np
import pytest

from cvstudio import DatasetSpec, Param, hookimpl
from cvstudio.cli import format_summary, main
from cvstudio.core.experiment import ExperimentError, bundled_lesson, load_experiment, parse_experiment, run_experiment
from cvstudio.core.runs import RunStore
from cvstudio.core.scaling import ScalingPoint, ScalingStarted, curves, repeats_for, subsample
from cvstudio.core.tasks import Cancelled, TaskState, drain
from cvstudio.core.training import TrainConfig


class TinyData:
    @hookimpl
    def cvstudio_register_datasets(self):
        return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset",
                            params=(Param("per_class", "int", 12, minimum=4, maximum=500),))]


@pytest.fixture
def registry(cvstudio_registry_with):
    return cvstudio_registry_with(TinyData())


def scaling(**study):
    return {
        "title": "Tiny scaling",
        "study": {"kind": "scaling", "sizes": [2, 6], "seeds": 2, "min_steps": 4, **study},
        "dataset": {"name": "tiny", "params": {"per_class": 16}},
        "split": {"val": 0.25, "test": 0.25},
        "classical": [{"label": "moments", "features": ["color-moments"], "classifier": "logistic-regression"}],
        "deep": [{"label": "mlp", "model": "mlp", "epochs": 1, "batch_size": 4, "device": "cpu"}],
    }


def test_the_sweep_yields_a_point_per_pipeline_size_and_seed_and_saves_the_curves(registry, tmp_path):
    experiment = parse_experiment(scaling(), registry)
    run = RunStore(tmp_path).create(experiment.title)
    events, summary = drain(run_experiment(experiment, registry, run, TaskState()))

    (plan,) = [e for e in events if isinstance(e, ScalingStarted)]
    assert plan.pipelines == (("moments", "classical"), ("mlp", "deep")) and plan.total == 8
    points = [e for e in events if isinstance(e, ScalingPoint)]
    assert [(p.pipeline, p.per_class, p.seed) for p in points] == [
        (name, size, seed) for seed in (0, 1) for size in (2, 6) for name in ("moments", "mlp")]
    assert [p.done for p in points] == list(range(1, 9))
    assert all(p.train_images == 3 * p.per_class for p in points)
    assert all(0 <= p.test_accuracy <= 1 for p in points)
    deep = [p for p in points if p.kind == "deep"]
    assert all(p.steps >= 4 for p in deep)  # min_steps holds even for 6 images

    assert run.status == "completed"
    saved = run.read("summary.json")
    assert saved == json.loads(json.dumps(summary)) and saved["status"] == "completed"
    assert saved["curves"]["moments"]["per_class"] == [2, 6]
    assert saved["curves"]["mlp"]["seeds"] == [2, 2]
    mean = np.mean([p.test_accuracy for p in points if p.pipeline == "mlp" and p.per_class == 6])
    assert saved["curves"]["mlp"]["mean"][1] == pytest.approx(mean, abs=1e-4)
    assert [r["kind"] for r in run.metrics()] == ["scaling-point"] * 8
    assert run.read("config.json")["study"] == {"kind": "scaling", "sizes": [2, 6], "seeds": 2, "min_steps": 4}
    table = format_summary(saved)
    assert "Tiny scaling — completed" in table and "moments" in table and "±" in table


def test_samples_are_class_balanced_nested_and_differ_between_seeds():
    labels = np.repeat(np.arange(3), 20)
    train = np.arange(0, 60, 2)  # ten images of each class
    small, large = subsample(train, labels, 3, seed=0), subsample(train, labels, 7, seed=0)
    assert np.bincount(labels[small]).tolist() == [3, 3, 3]
    assert set(small) <= set(large) <= set(train)
    assert not np.array_equal(small, subsample(train, labels, 3, seed=1))


def test_small_training_sets_are_repeated_up_to_the_minimum_number_of_steps():
    config = TrainConfig(epochs=10, batch_size=64)
    assert repeats_for(6000, config, 300) == 1  # 940 steps already
    repeats = repeats_for(60, config, 300)
    assert 10 * 60 * repeats / 64 >= 300 > 10 * 60 * (repeats - 1) / 64


def test_curves_average_over_seeds():
    points = [{"pipeline": "a", "kind": "deep", "per_class": size, "test_accuracy": acc}
              for size, acc in ((10, 0.2), (10, 0.4), (100, 0.9))]
    assert curves(points) == {"a": {"kind": "deep", "per_class": [10, 100], "mean": [0.3, 0.9],
                                    "std": [0.1, 0.0], "seeds": [2, 1]}}


@pytest.mark.parametrize("study, message", [
    ({"sizes": []}, "sizes must be a list of whole numbers"),
    ({"sizes": [10, 0]}, "sizes must be a list"),
    ({"sizes": "10"}, "sizes must be a list"),
    ({"seeds": 0}, "below its minimum"),
    ({"epochs": 3}, "unknown key 'epochs' in [study] of kind 'scaling'"),
])
def test_bad_options_are_named(registry, study, message):
    with pytest.raises(ExperimentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_experiment(scaling(**study), registry)


def test_a_size_larger_than_the_data_fails_the_run_with_the_fix(registry, tmp_path):
    experiment = parse_experiment(scaling(sizes=[2, 50]), registry)
    run = RunStore(tmp_path).create(experiment.title)
    with pytest.raises(ExperimentError, match="50 images per class is more than the 8 training images"):
        drain(run_experiment(experiment, registry, run, TaskState()))
    assert run.status == "failed" and "lower the largest size" in run.read("status.json")["error"]


def test_cancelling_keeps_the_points_so_far(registry, tmp_path):
    experiment = parse_experiment(scaling(), registry)
    run = RunStore(tmp_path).create(experiment.title)
    state = TaskState()
    events = run_experiment(experiment, registry, run, state)
    for event in events:
        if isinstance(event, ScalingPoint):
            state.cancel()
            break
    with pytest.raises(Cancelled):
        drain(events)
    assert run.status == "cancelled" and len(run.read("summary.json")["points"]) >= 1


def test_cli_runs_the_sweep_and_prints_each_point(registry, tmp_path, capsys, monkeypatch):
    path = tmp_path / "scaling.toml"
    path.write_text("""
title = "Tiny scaling"
[study]
kind = "scaling"
sizes = [2, 4]
seeds = 1
[dataset]
name = "tiny"
[[classical]]
label = "moments"
features = ["color-moments"]
classifier = "logistic-regression"
""", encoding="utf-8")
    monkeypatch.setattr("cvstudio.plugins.load_registry", lambda: registry)
    assert main(["run", str(path), "--out", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr()
    assert "[2/2] moments: 4 per class, seed 0: test acc" in out.err
    assert "Tiny scaling — completed" in out.out


def test_bundled_lesson_parses(cvstudio_registry):
    experiment = load_experiment(bundled_lesson("data-scaling"), cvstudio_registry)
    assert experiment.study.name == "scaling"
    assert {p.label for p in experiment.classical} >= {"Color histogram + linear SVM", "HOG + RBF SVM"}
    assert experiment.deep[0].model.name == "vgg-small"
