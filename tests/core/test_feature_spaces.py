import socket
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch

from cvstudio import DatasetSpec, Param, hookimpl
from cvstudio.core.experiment import ExperimentError, bundled_lesson, load_experiment, parse_experiment, run_experiment
from cvstudio.core.feature_spaces import (
    FeatureSpaceProjected,
    FeatureSpaceSkipped,
    PretrainedUnavailable,
    load_pretrained,
    penultimate_features,
    projection_from_run,
    separation,
)
from cvstudio.core.runs import RunStore
from cvstudio.core.tasks import TaskState, drain
from cvstudio.plugins import load_registry
from cvstudio.testing import write_tiny_experiment


class TinyData:
    @hookimpl
    def cvstudio_register_datasets(self):
        return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset",
                            params=(Param("per_class", "int", 12, minimum=4),))]


@pytest.fixture
def registry(cvstudio_registry_with):
    return cvstudio_registry_with(TinyData())


def study(**options):
    return {
        "title": "Features",
        "study": {"kind": "features", "pretrained": "none", "points": 20, **options},
        "dataset": {"name": "tiny", "params": {"per_class": 20}},
        "split": {"val": 0.2, "test": 0.35},
        "classical": [{"features": ["color-moments"], "classifier": "logistic-regression"}],
        "deep": [{"label": "CNN", "model": "lenet5", "epochs": 2, "batch_size": 8, "device": "cpu"}],
    }


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty torch hub cache and a downloader that fails as it does without a network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return tmp_path / "torch"


def test_every_space_goes_through_the_same_classifier_and_is_projected(registry, tmp_path):
    experiment = parse_experiment(study(), registry)
    run = RunStore(tmp_path).create("features")
    events, summary = drain(run_experiment(experiment, registry, run, TaskState()))
    assert run.status == "completed"
    engineered, learned = "color-moments → logistic-regression", "CNN features → logistic-regression"
    assert set(summary["pipelines"]) == {engineered, "CNN", learned}
    assert summary["pipelines"][engineered]["classifier"] == summary["pipelines"][learned]["classifier"]
    assert summary["pipelines"][learned]["feature_dim"] == 84  # LeNet-5's last hidden layer
    assert summary["pipelines"]["CNN"]["space"] == "learned"
    projected = [e for e in events if isinstance(e, FeatureSpaceProjected)]
    assert {(e.space, e.method) for e in projected} == {(s, m) for s in (engineered, learned) for m in ("pca", "tsne")}
    for event in projected:
        assert event.points.shape == (20, 2) and len(event.labels) == 20
        assert 0.0 <= event.knn_accuracy <= 1.0 and -1.0 <= event.silhouette <= 1.0
        saved = summary["feature_spaces"][event.space]["projections"][event.method]
        assert saved["knn_accuracy"] == event.knn_accuracy
        reopened = projection_from_run(run, saved["points"])
        np.testing.assert_allclose(reopened.points, event.points, atol=1e-4)
        np.testing.assert_array_equal(reopened.labels, event.labels)


def test_penultimate_features_are_the_input_of_the_last_linear_layer(cvstudio_registry, tiny_dataset):
    for name, spec in cvstudio_registry.specs("models").items():
        model = spec.create(tiny_dataset.channels, tiny_dataset.image_size, tiny_dataset.num_classes)
        model.eval()
        images = torch.randn(5, tiny_dataset.channels, *tiny_dataset.image_size)
        features = penultimate_features(model, [images[:3], images[3:]])
        head = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        with torch.no_grad():
            expected = head(torch.from_numpy(features)).numpy()
            np.testing.assert_allclose(expected, model(images).numpy(), rtol=1e-4, atol=1e-4, err_msg=name)


def test_a_model_without_a_linear_head_is_named(tiny_dataset):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    with pytest.raises(ExperimentError, match="no Linear layer"):
        penultimate_features(model, [torch.zeros(2, 3, 8, 8)])


def test_offline_without_cached_weights_says_how_to_enable_them(offline):
    with pytest.raises(PretrainedUnavailable) as caught:
        drain(load_pretrained("resnet18", TaskState()))
    message = str(caught.value)
    assert "could not be downloaded: no network (Name or service not known)" in message
    assert "urlopen" not in message and "Errno" not in message
    assert f"copy resnet18-f37072fd.pth (from https://" in message
    assert f"into {offline / 'hub' / 'checkpoints'}" in message
    assert not list((offline / "hub" / "checkpoints").iterdir())  # no partial file left behind


def test_the_study_goes_on_without_the_pretrained_network(registry, tmp_path, offline):
    experiment = parse_experiment(study(pretrained="resnet18", projections=[]), registry)
    experiment = experiment.with_training(epochs=1)
    run = RunStore(tmp_path).create("offline")
    events, summary = drain(run_experiment(experiment, registry, run, TaskState()))
    skipped = [e for e in events if isinstance(e, FeatureSpaceSkipped)]
    assert len(skipped) == 1 and "no network" in skipped[0].reason
    assert summary["skipped"][0]["space"] == skipped[0].space
    assert run.status == "completed" and len(summary["pipelines"]) == 3


def test_cached_weights_are_used_without_a_download(offline, monkeypatch):
    """Weights in the cache load offline: the file a user is told to place is the file that is read."""
    import torchvision

    model = torchvision.models.resnet18(weights=None)
    cached = offline / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    torch.save(model.state_dict(), cached)
    events, (loaded, mean, std) = drain(load_pretrained("resnet18", TaskState()))
    assert events == []  # read from the cache: nothing downloaded
    assert torch.equal(loaded.conv1.weight, model.conv1.weight)
    assert len(mean) == len(std) == 3
    features = penultimate_features(loaded, [torch.zeros(2, 3, 32, 32)])
    assert features.shape == (2, 512)


def test_a_corrupt_cached_file_is_named_with_the_fix(offline):
    cached = offline / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a file")
    with pytest.raises(PretrainedUnavailable, match=f"{cached} is not resnet18's weights .*delete it to download"):
        drain(load_pretrained("resnet18", TaskState()))


def test_separation_scores_separated_classes_above_mixed_ones():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 30)
    apart = rng.normal(size=(90, 2)) * 0.1 + labels[:, None] * 5
    mixed = rng.normal(size=(90, 2))
    knn_apart, silhouette_apart = separation(apart, labels)
    knn_mixed, silhouette_mixed = separation(mixed, labels)
    assert knn_apart == 1.0 and knn_mixed < 0.7
    assert silhouette_apart > 0.8 > silhouette_mixed


@pytest.mark.parametrize("options, message", [
    ({"pretrained": "vgg99"}, "pretrained = 'vgg99'"),
    ({"projections": ["umap"]}, "projections"),
    ({"points": 3}, "points = 3"),
    ({"pretrained_size": 8}, "pretrained_size"),
    ({"colour": "red"}, "unknown key 'colour'"),
])
def test_bad_options_are_named(registry, options, message):
    with pytest.raises(ExperimentError, match=message):
        parse_experiment(study(**options), registry)


def test_a_study_without_classical_pipeline_says_why(registry, tmp_path):
    experiment = parse_experiment({**study(), "classical": []}, registry)
    with pytest.raises(ExperimentError, match="needs a \\[\\[classical\\]\\] pipeline"):
        drain(run_experiment(experiment, registry, RunStore(tmp_path).create("x"), TaskState()))


def test_the_bundled_lesson_is_a_features_study():
    experiment = load_experiment(bundled_lesson("learned-features"), load_registry(autoload=False))
    assert experiment.study.name == "features"
    assert experiment.classical and experiment.deep
    assert len({c.classifier.name for c in experiment.classical}) == 1


CLI_TINY = """
from cvstudio import hookimpl, DatasetSpec
@hookimpl
def cvstudio_register_datasets():
    return [DatasetSpec(name="tiny", description="Tiny.", factory="cvstudio.testing:make_tiny_dataset")]
"""


def test_cli_prints_each_space_and_the_table(tmp_path, monkeypatch, capsys, offline):
    from cvstudio.cli import main

    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "tinydata.py").write_text(CLI_TINY)
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(tmp_path / "plugins"))
    experiment = write_tiny_experiment(
        tmp_path / "features.toml", title="cli features",
        study={"kind": "features", "projections": ["pca"], "points": 20}, dataset={"name": "tiny"}, split=None,
        classical=[{"features": ["color-moments"], "classifier": "knn"}], deep=[{"label": "net", "model": "lenet5"}],
        epochs=1)
    assert main(["run", str(experiment), "--out", str(tmp_path / "runs")]) == 0
    captured = capsys.readouterr()
    assert "PCA of color-moments → knn: 5-NN accuracy in 2-D" in captured.err
    assert "could not be downloaded: no network" in captured.err
    table = captured.out.splitlines()
    assert table[0] == "cli features — completed" and "the same classifier for every feature space: knn" in table[1]
    assert any(line.startswith("net features → knn") and "learned" in line for line in table)
    assert table[-1].startswith("pretrained resnet18 left out: its ImageNet weights")
