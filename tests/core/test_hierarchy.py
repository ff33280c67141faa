import numpy as np
import pytest

from cvstudio import DatasetSpec, Param, hookimpl
from cvstudio.core.experiment import ExperimentError, bundled_lesson, load_experiment, parse_experiment, run_experiment
from cvstudio.core.hierarchy import FIRST_LAYER, SCORES_LAYER, HierarchyReady, layer_captions
from cvstudio.core.runs import RunStore
from cvstudio.core.tasks import TaskState, drain
from cvstudio.plugins import load_registry
from cvstudio.testing import write_tiny_experiment


class TinyData:
    @hookimpl
    def cvstudio_register_datasets(self):
        return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset",
                            params=(Param("classes", "int", 3, minimum=2),))]


@pytest.fixture
def registry(cvstudio_registry_with):
    return cvstudio_registry_with(TinyData())


def study(model="lenet5", classes=3, **options):
    return {
        "title": "Hierarchy",
        "study": {"kind": "hierarchy", **options},
        "dataset": {"name": "tiny", "params": {"classes": classes}},
        "split": {"val": 0.25, "test": 0.25},
        "classical": [{"label": "HOG + moments", "features": ["hog", "color-moments"],
                       "classifier": "logistic-regression"}],
        "deep": [{"label": "net", "model": model, "epochs": 1, "batch_size": 8, "device": "cpu"}],
    }


def run_study(registry, tmp_path, **kwargs):
    experiment = parse_experiment(study(**kwargs), registry)
    run = RunStore(tmp_path).create("hierarchy")
    events, summary = drain(run_experiment(experiment, registry, run, TaskState()))
    return run, summary, [e for e in events if isinstance(e, HierarchyReady)]


def test_headless_study_writes_layer_maps_gradcam_and_decisions(registry, tmp_path):
    run, summary, ready = run_study(registry, tmp_path, image=5)
    assert run.status == "completed" and len(ready) == 1
    report = run.read(summary["hierarchy"]["file"])
    folder = run.path / "hierarchy"
    assert report["image"] == 5 and report["label"] == "class 0"
    assert [layer["name"] for layer in report["layers"]] == ["features.conv1", "features.conv2",
                                                            "classifier.fc1", "classifier.fc2", "classifier.fc3"]
    assert report["layers"][0]["caption"] == FIRST_LAYER and report["layers"][-1]["caption"] == SCORES_LAYER
    assert report["layers"][0]["shape"] == [6, 16, 16]
    for entry in report["layers"]:
        assert (folder / entry["file"]).read_bytes()[:4] == b"\x89PNG"
    assert report["gradcam"]["layer"] == "features.conv2"
    assert (folder / "gradcam.png").exists()
    assert {f["name"] for f in report["features"]} == {"hog", "color-moments"}
    hog = next(f for f in report["features"] if f["name"] == "hog")
    assert (folder / hog["file"]).exists()
    for side in ("deep", "classical"):
        probabilities = report[side]["probabilities"]
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-3)
        assert report[side]["predicted"] == max(probabilities, key=probabilities.get)
    # the event carries the same report, and the models explain any other image as well
    event = ready[0]
    names = summary["dataset"]["classes"]
    assert names[event.report.deep.predicted] == report["deep"]["predicted"]
    assert names[event.report.classical.predicted] == report["classical"]["predicted"]
    other = event.models.explain(30)
    assert other.index == 30 and len(other.layers) == 5
    assert not np.array_equal(other.layers[0].activation, event.report.layers[0].activation)


def test_a_model_without_convolutions_still_gets_its_layers_and_a_clear_note(registry, tmp_path):
    run, summary, _ = run_study(registry, tmp_path, model="mlp")
    report = run.read(summary["hierarchy"]["file"])
    assert "no convolution layer" in report["gradcam"]["unavailable"]
    assert not (run.path / "hierarchy" / "gradcam.png").exists()
    assert report["layers"][-1]["caption"] == SCORES_LAYER
    assert report["deep"]["predicted"] in summary["dataset"]["classes"]


def test_a_saved_checkpoint_is_explained_without_training(registry, tmp_path):
    first, summary, _ = run_study(registry, tmp_path / "a")
    checkpoint = first.path / summary["pipelines"]["net"]["checkpoint"]
    again, summary_again, _ = run_study(registry, tmp_path / "b", checkpoint=str(checkpoint))
    assert "net" not in summary_again["pipelines"]  # loaded, not trained
    assert not any(r["kind"] == "epoch" for r in again.metrics())
    assert again.read(summary_again["hierarchy"]["file"])["deep"] == first.read(summary["hierarchy"]["file"])["deep"]


def test_a_checkpoint_of_another_dataset_is_refused_with_the_fix(registry, tmp_path):
    first, summary, _ = run_study(registry, tmp_path / "a")
    checkpoint = first.path / summary["pipelines"]["net"]["checkpoint"]
    experiment = parse_experiment(study(classes=4, checkpoint=str(checkpoint)), registry)
    run = RunStore(tmp_path / "b").create("wrong")
    with pytest.raises(ExperimentError, match="use the \\[dataset\\] of the run that saved it"):
        drain(run_experiment(experiment, registry, run, TaskState()))
    assert run.status == "failed"


@pytest.mark.parametrize("options, message", [
    ({"image": "first"}, "image = 'first'"),
    ({"maps": 0}, "maps = 0"),
    ({"checkpoint": 3}, "checkpoint = 3"),
    ({"layer": 2}, "unknown key 'layer'"),
])
def test_bad_options_are_named(registry, options, message):
    with pytest.raises(ExperimentError, match=message):
        parse_experiment(study(**options), registry)


def test_missing_checkpoint_and_image_out_of_range_fail_clearly(registry, tmp_path):
    for options, message in (({"checkpoint": str(tmp_path / "none.pt")}, "no such file"),
                             ({"image": 999}, "has only 36 images")):
        experiment = parse_experiment(study(**options), registry)
        with pytest.raises(ExperimentError, match=message):
            drain(run_experiment(experiment, registry, RunStore(tmp_path).create("x"), TaskState()))


def test_captions_go_from_edges_to_class_scores():
    activations = {"c1": np.zeros((4, 8, 8)), "c2": np.zeros((4, 4, 4)), "c3": np.zeros((4, 2, 2)),
                   "c4": np.zeros((4, 1, 1)), "fc": np.zeros(10), "head": np.zeros(3)}
    captions = [caption for _, caption in layer_captions(activations)]
    assert captions[0] == FIRST_LAYER and captions[-1] == SCORES_LAYER
    assert "corners" in captions[1] and "parts" in captions[3] and "summary" in captions[4]


def test_the_bundled_lesson_is_a_hierarchy_study():
    experiment = load_experiment(bundled_lesson("hierarchical-features"), load_registry(autoload=False))
    assert experiment.study.name == "hierarchy" and experiment.classical and experiment.deep


def test_cli_prints_both_answers_and_where_the_pictures_are(tmp_path, monkeypatch, capsys):
    from cvstudio.cli import main

    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "tinydata.py").write_text(
        "from cvstudio import hookimpl, DatasetSpec\n@hookimpl\ndef cvstudio_register_datasets():\n"
        "    return [DatasetSpec(name='tiny', description='Tiny.', factory='cvstudio.testing:make_tiny_dataset')]\n")
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(tmp_path / "plugins"))
    experiment = write_tiny_experiment(
        tmp_path / "hierarchy.toml", title="cli hierarchy", study={"kind": "hierarchy", "image": 3},
        dataset={"name": "tiny"}, split=None, classical=[{"label": "hog", "features": ["hog"], "classifier": "knn"}],
        deep=[{"label": "net", "model": "lenet5"}], epochs=1)
    assert main(["run", str(experiment), "--out", str(tmp_path / "runs")]) == 0
    captured = capsys.readouterr()
    assert "image #3: net says class" in captured.err
    lines = captured.out.splitlines()
    assert lines[:2] == ["cli hierarchy — completed", "image #3 (true class: class 0)"]
    assert lines[2].startswith("  net: class") and lines[3].startswith("  hog: class")
    assert lines[4] == "Grad-CAM on layer features.conv2: hierarchy/gradcam.png"
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "hierarchy" / "gradcam.png").exists()


def test_layer_pictures_keep_every_value_visible():
    from cvstudio.core.pictures import layer_picture

    scores = layer_picture(np.array([3.0, -1.0, 1.0]))
    assert scores.shape == (1, 3) and scores.tolist() == [[1.0, 0.0, 0.5]]  # class scores: one row
    long = layer_picture(np.arange(40.0))
    assert long.shape == (6, 7) and long.max() == 1.0 and long.ravel()[:40].tolist() == sorted(long.ravel()[:40])
    maps = layer_picture(np.stack([np.zeros((4, 4)), np.eye(4)]), limit=1)
    assert maps.shape == (6, 6)  # the first map only, with a 1-pixel border
