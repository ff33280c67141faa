import json

import pytest

from cvstudio import ClassifierSpec, DatasetSpec, hookimpl
from cvstudio.core.experiment import (
    ExperimentError,
    PipelineFailed,
    PipelineFinished,
    PipelinesFailed,
    bundled_lesson,
    load_experiment,
    parse_experiment,
    run_experiment,
)
from cvstudio.core.runs import RunStore
from cvstudio.core.tasks import Cancelled, TaskState, drain
from cvstudio.core.training import EpochEnd


class TinyData:
    @hookimpl
    def cvstudio_register_datasets(self):
        return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset")]


@pytest.fixture
def registry(cvstudio_registry_with):
    return cvstudio_registry_with(TinyData())


TINY = {
    "title": "Tiny head to head",
    "dataset": {"name": "tiny", "params": {}},
    "split": {"val": 0.25, "test": 0.25},
    "classical": [{"features": ["color-moments"], "classifier": "logistic-regression"}],
    "deep": [{"model": "mlp", "epochs": 2, "batch_size": 8}],
}


def test_bundled_lesson_parses(cvstudio_registry):
    experiment = load_experiment(bundled_lesson(), cvstudio_registry)
    assert experiment.classical and experiment.deep
    assert experiment.dataset.name == "shapes"


def test_run_writes_a_complete_readable_run(registry, tmp_path):
    experiment = parse_experiment(TINY, registry)
    run = RunStore(tmp_path).create(experiment.title)
    events, summary = drain(run_experiment(experiment, registry, run, TaskState()))
    assert run.status == "completed"
    assert set(summary["pipelines"]) == {"color-moments → logistic-regression", "mlp"}
    config = run.read("config.json")
    assert config["deep"][0]["epochs"] == 2 and config["deep"][0]["learning_rate"] == 1e-3
    assert config["classical"][0]["classifier"] == {"name": "logistic-regression", "params": {"C": 1.0}}
    epochs = [r for r in run.metrics() if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2]
    assert [e.val_accuracy for e in events if isinstance(e, EpochEnd)] == [r["val_accuracy"] for r in epochs]
    for record in summary["pipelines"].values():
        evaluation = run.read(record["evaluation"])
        assert sum(map(sum, evaluation["test"]["confusion"])) == summary["dataset"]["split"]["test"]
        assert 0.0 <= record["test_accuracy"] <= 1.0
    assert (run.path / summary["pipelines"]["mlp"]["checkpoint"]).exists()
    assert json.loads((run.path / "summary.json").read_text())["status"] == "completed"


def test_cancelled_run_stays_readable_and_marked(registry, tmp_path):
    experiment = parse_experiment(TINY, registry)
    run = RunStore(tmp_path).create("cancel me")
    state = TaskState()
    events = run_experiment(experiment, registry, run, state)
    with pytest.raises(Cancelled):
        for event in events:
            if isinstance(event, EpochEnd):
                state.cancel()
    assert run.status == "cancelled"
    summary = run.read("summary.json")
    assert summary["status"] == "cancelled"
    assert "color-moments → logistic-regression" in summary["pipelines"]


def test_failure_is_recorded(registry, tmp_path):
    broken = {**TINY, "deep": [{"model": "mlp", "epochs": 1, "device": "cuda"}]}
    experiment = parse_experiment(broken, registry)
    run = RunStore(tmp_path).create("fail")
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    with pytest.raises(Exception, match="not available"):
        drain(run_experiment(experiment, registry, run, TaskState()))
    assert run.status == "failed" and "not available" in run.read("status.json")["error"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"dataset": {"name": "shapez"}}, "unknown dataset 'shapez'; did you mean 'shapes'"),
        ({"dataset": {"name": "tiny", "params": {"size": 3}}}, "dataset 'tiny' has no parameter 'size'"),
        ({"classical": [{"features": ["hog"], "classifier": "svm"}]}, "unknown classifier 'svm'"),
        ({"classical": [{"features": [{"name": "hog", "params": {"cell_size": 0}}], "classifier": "knn"}]},
         "parameter 'cell_size' is 0, below its minimum"),
        ({"deep": [{"model": "lenet5", "epochs": 0}]}, r"\[\[deep\]\] #1: parameter 'epochs' is 0, below its minimum 1"),
        ({"deep": [{"model": "lenet5", "epoch": 3}]}, "unknown training setting 'epoch'"),
        ({"deep": [{"model": "lenet5", "optimizer": "rmsprop"}]}, "choose one of 'adam', 'adamw', 'sgd'"),
        ({"deep": [{"epochs": 3}]}, "needs a 'model'"),
        ({"classical": [], "deep": []}, "nothing to run"),
        ({"deep": [{"model": "mlp"}, {"model": "mlp"}]}, "label 'mlp' is used twice"),
        ({"split": {"val": 0.2, "tst": 0.2}}, "unknown key 'tst' in \\[split\\]"),
        ({"deep": {"model": "mlp"}}, "write \\[\\[deep\\]\\]"),
        ({"split": {"val": 0, "test": 0}}, r"\[split\] parameter 'val' is 0.0, below its minimum 0.01"),
        ({"split": {"val": 0.2, "test": 0}}, r"\[split\] parameter 'test' is 0.0, below its minimum 0.01"),
        ({"split": {"val": 0.5, "test": 0.5}}, r"val \+ test = 1 leaves no images to train on"),
        ({"split": {"val": "a lot"}}, r"\[split\] parameter 'val' must be a number"),
        ({"split": 0.3}, r"\[split\] must be a table"),
    ],
)
def test_invalid_experiments_name_the_problem(registry, change, message):
    with pytest.raises(ExperimentError, match=message):
        parse_experiment({**TINY, **change}, registry)


def test_file_errors_name_the_file(registry, tmp_path):
    with pytest.raises(ExperimentError, match="no such experiment file"):
        load_experiment(tmp_path / "missing.toml", registry)
    bad = tmp_path / "bad.toml"
    bad.write_text("title = \n")
    with pytest.raises(ExperimentError, match="bad.toml: not valid TOML"):
        load_experiment(bad, registry)


def test_a_binary_file_is_named_and_a_byte_order_mark_is_accepted(registry, tmp_path):
    binary = tmp_path / "photo.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(ExperimentError, match="photo.toml: not a text file"):
        load_experiment(binary, registry)
    with_bom = tmp_path / "bom.toml"
    with_bom.write_text('title = "With a BOM"\n[dataset]\nname = "tiny"\n[[deep]]\nmodel = "mlp"\n', encoding="utf-8-sig")
    assert load_experiment(with_bom, registry).title == "With a BOM"


def test_with_training_overrides_every_deep_pipeline(registry):
    experiment = parse_experiment(TINY, registry).with_training(epochs=1, device="cpu")
    assert all(d.training.epochs == 1 and d.training.device == "cpu" for d in experiment.deep)


def test_final_records_are_marked_final_with_their_pipeline_kind(registry, tmp_path):
    experiment = parse_experiment(TINY, registry)
    run = RunStore(tmp_path).create("kinds")
    drain(run_experiment(experiment, registry, run, TaskState()))
    finals = {r["pipeline"]: r["pipeline_kind"] for r in run.metrics() if r["kind"] == "final"}
    assert finals == {"color-moments → logistic-regression": "classical", "mlp": "deep"}


def test_labels_differing_only_in_punctuation_keep_their_own_files(registry, tmp_path):
    from cvstudio.core.export import load_trained_model

    experiment = parse_experiment({**TINY, "classical": [], "deep": [
        {"label": "CNN +aug", "model": "lenet5", "epochs": 1, "batch_size": 8},
        {"label": "CNN -aug", "model": "mlp", "epochs": 1, "batch_size": 8},
    ]}, registry)
    run = RunStore(tmp_path).create(experiment.title)
    _, summary = drain(run_experiment(experiment, registry, run, TaskState()))
    plus, minus = summary["pipelines"]["CNN +aug"], summary["pipelines"]["CNN -aug"]
    assert plus["checkpoint"] != minus["checkpoint"] and plus["evaluation"] != minus["evaluation"]
    assert len(list((run.path / "checkpoints").glob("*.pt"))) == 2
    assert plus["parameters"] != minus["parameters"]
    assert load_trained_model(run.path, registry, "CNN +aug").checkpoint["model"] == "lenet5"
    assert load_trained_model(run.path, registry, "CNN -aug").checkpoint["model"] == "mlp"


def test_a_very_long_title_and_label_make_short_file_names(registry, tmp_path):
    long = "a very long title " * 25
    experiment = parse_experiment({**TINY, "title": long, "classical": [],
                                   "deep": [{"label": long, "model": "mlp", "epochs": 1, "batch_size": 8}]}, registry)
    run = RunStore(tmp_path).create(experiment.title)
    _, summary = drain(run_experiment(experiment, registry, run, TaskState()))
    assert run.status == "completed" and len(run.id) < 100
    assert all(len(p.name) < 100 for p in run.path.rglob("*"))
    assert (run.path / summary["pipelines"][long]["checkpoint"]).exists()


class BrokenClassifier:
    @hookimpl
    def cvstudio_register_classifiers(self):
        return [ClassifierSpec(name="broken", description="Raises.", factory=_raise)]


def _raise():
    raise ValueError("no estimator today")


BROKEN_FIRST = {**TINY, "classical": [{"label": "broken", "features": ["color-moments"], "classifier": "broken"},
                                      {"features": ["color-moments"], "classifier": "knn"}]}


def test_a_failing_pipeline_is_reported_and_the_others_run_to_the_end(cvstudio_registry_with, tmp_path):
    registry = cvstudio_registry_with(TinyData(), BrokenClassifier())
    experiment = parse_experiment(BROKEN_FIRST, registry)
    run = RunStore(tmp_path).create("one broken")
    events = []
    with pytest.raises(PipelinesFailed, match=r"1 of 3 pipeline\(s\) failed \('broken': classifier 'broken' from "
                                              r"plugin 'BrokenClassifier' could not be built") as caught:
        for event in run_experiment(experiment, registry, run, TaskState()):
            events.append(event)
    (failed,) = [e for e in events if isinstance(e, PipelineFailed)]
    assert failed.pipeline == "broken" and "ValueError: no estimator today" in failed.traceback
    assert [e.pipeline for e in events if isinstance(e, PipelineFinished)] == ["color-moments → knn", "mlp"]
    summary = run.read("summary.json")
    assert run.status == "failed" and summary["status"] == "failed" and caught.value.summary["status"] == "failed"
    assert set(summary["pipelines"]) == {"color-moments → knn", "mlp"}
    assert summary["failed"]["broken"]["kind"] == "classical"
    assert "no estimator today" in summary["failed"]["broken"]["error"]
    assert "no estimator today" in run.read("status.json")["error"]


@pytest.mark.parametrize("change, message", [
    ({"deep": [{"model": "lenet5", "params": {"dropout": 0.1}}]},
     r"\[\[deep\]\] #1: 'params' a model's parameters go with its name: "
     r"model = \{ name = \"lenet5\", params = \{ \.\.\. \} \} \(see docs/experiments.md\)"),
    ({"deep": [{"model": "mlp", "hidden": 64}]},
     r"'hidden' is a parameter of model 'mlp': a model's parameters go with its name: "
     r"model = \{ name = \"mlp\", params = \{ hidden = \.\.\. \} \}"),
    ({"deep": [{"model": "mlp", "epoch": 3}]},
     r"unknown training setting 'epoch'.*a \[\[deep\]\] table holds 'model', 'label' and training settings"),
    ({"classical": [{"features": ["hog"], "classifier": "knn", "params": {"k": 3}}]},
     r"unknown key 'params' in \[\[classical\]\] #1.*classifier = \{ name = \"knn\", params = \{ \.\.\. \} \}"),
    ({"dataset": {"name": "tiny", "per_class": 10}},
     r"unknown key 'per_class' in \[dataset\].*\{ name = \"tiny\", params = \{ per_class = \.\.\. \} \}"),
])
def test_parameters_in_the_wrong_place_are_told_the_right_form(registry, change, message):
    with pytest.raises(ExperimentError, match=message):
        parse_experiment({**TINY, **change}, registry)


def test_the_documented_forms_parse(registry):
    """The forms the reference and the error messages above give: plain names and name + params tables."""
    experiment = parse_experiment({**TINY, "classical": [{"features": "color-moments", "classifier": "knn"}],
                                   "deep": [{"model": {"name": "mlp", "params": {"hidden": 32}}, "epochs": 1}]},
                                  registry)
    assert experiment.classical[0].classifier.name == "knn" and experiment.deep[0].model.params["hidden"] == 32


def test_plugin_code_calling_sys_exit_during_a_run_fails_the_run_instead_of_ending_the_program(
        cvstudio_registry_with, tmp_path, monkeypatch):
    import cvstudio.testing

    def quitting_dataset(**params):
        raise SystemExit(5)

    monkeypatch.setattr(cvstudio.testing, "quitting_dataset", quitting_dataset, raising=False)

    class Quitter:
        @hookimpl
        def cvstudio_register_datasets(self):
            return [DatasetSpec(name="quitter", description="Quits.", factory="cvstudio.testing:quitting_dataset")]

    registry = cvstudio_registry_with(Quitter())
    experiment = parse_experiment({**TINY, "dataset": {"name": "quitter"}}, registry)
    run = RunStore(tmp_path).create(experiment.title)
    with pytest.raises(RuntimeError, match=r"plugin code called sys.exit\(5\) during the run"):
        drain(run_experiment(experiment, registry, run, TaskState()))
    assert run.status == "failed" and "sys.exit(5)" in run.read("status.json")["error"]


def test_a_cancelled_run_says_what_it_stopped(tmp_path):
    from cvstudio.core.experiment import PipelineStarted, with_outcome
    from cvstudio.core.tasks import Progress

    def work():
        yield PipelineStarted("HOG → SVM", "classical")
        yield Progress("HOG → SVM", "fitting", 0, 1)
        raise KeyboardInterrupt

    run = RunStore(tmp_path).create("interrupted")
    with pytest.raises(KeyboardInterrupt):
        drain(with_outcome(run, {"pipelines": {}}, work()))
    assert run.status == "cancelled"
    assert run.read("summary.json")["stopped"] == "interrupted during fitting of 'HOG → SVM'"
