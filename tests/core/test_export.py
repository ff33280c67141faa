import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from cvstudio import DatasetSpec, hookimpl
from cvstudio.core import export
from cvstudio.core.experiment import parse_experiment, run_experiment
from cvstudio.core.export import ExportError, export_run, load_trained_model
from cvstudio.core.runs import Run, RunStore
from cvstudio.core.tasks import TaskState, drain
from cvstudio.core.training import Normalization, _DeviceData
from cvstudio.plugins import load_registry
from cvstudio.testing import make_tiny_dataset

MODELS = ("mlp", "lenet5", "vgg-small", "resnet18", "vit-small", "mlp-mixer")


class TinyData:
    @hookimpl
    def cvstudio_register_datasets(self):
        return [DatasetSpec(name="tiny", description="Tiny bands.", factory="cvstudio.testing:make_tiny_dataset")]


@pytest.fixture(scope="module")
def registry():
    return load_registry(autoload=False, extra_plugins=[TinyData()])


@pytest.fixture(scope="module")
def every_model_run(registry, tmp_path_factory) -> Run:
    """One run that trained every built-in model for an epoch on 16×16 images."""
    experiment = parse_experiment({
        "title": "all models", "dataset": {"name": "tiny"},
        "deep": [{"model": name, "epochs": 1, "batch_size": 16, "device": "cpu"} for name in MODELS],
    }, registry)
    run = RunStore(tmp_path_factory.mktemp("runs")).create(experiment.title)
    drain(run_experiment(experiment, registry, run, TaskState()))
    return run


@pytest.mark.parametrize("model", MODELS)
def test_every_built_in_model_exports_and_matches_torch(every_model_run, registry, model, tmp_path):
    result = export_run(every_model_run.path, registry, tmp_path / f"{model}.onnx", pipeline=model)
    assert result.max_abs_diff <= export.TOLERANCE and "validation images" in result.verified_on

    proto = onnx.load(str(result.path))
    assert proto.opset_import[0].version >= 17
    metadata = json.loads({p.key: p.value for p in proto.metadata_props}["cvstudio"])
    trained = load_trained_model(every_model_run.path, registry, model)
    assert metadata["class_names"] == list(make_tiny_dataset().class_names)
    assert metadata["preprocessing"]["size"] == [16, 16] and metadata["preprocessing"]["color"] == "rgb"
    assert metadata["preprocessing"]["mean"] == trained.checkpoint["normalization"]["mean"]
    assert metadata["pipeline"] == model and metadata["run"] == str(every_model_run.path.resolve())

    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(1).normal(size=(5, 3, 16, 16)).astype(np.float32)  # a batch size never exported
    (probabilities,) = session.run(["probabilities"], {"images": batch})
    with torch.no_grad():
        expected = torch.softmax(trained.model(torch.from_numpy(batch)), 1).numpy()
    assert probabilities.shape == (5, 3) and np.abs(probabilities - expected).max() <= export.TOLERANCE
    assert np.allclose(probabilities.sum(1), 1.0, atol=1e-5)  # the softmax is in the file


def test_the_export_feeds_images_exactly_as_training_did(every_model_run, registry):
    trained = load_trained_model(every_model_run.path, registry, "lenet5")
    dataset = make_tiny_dataset()
    normalization = Normalization(tuple(trained.checkpoint["normalization"]["mean"]),
                                  tuple(trained.checkpoint["normalization"]["std"]))
    training_batch = _DeviceData(dataset, normalization, torch.device("cpu")).batch(torch.arange(8)).numpy()
    assert np.allclose(trained.preprocessing().apply(dataset.images[:8]), training_batch, atol=1e-6)


def test_the_default_output_is_in_the_run(every_model_run, registry):
    result = export_run(every_model_run.path, registry, pipeline="mlp")
    assert result.path == every_model_run.path / "exports" / "mlp.onnx" and result.path.is_file()


def test_an_export_that_differs_from_torch_is_refused_and_not_kept(every_model_run, registry, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "TOLERANCE", -1.0)  # no difference can pass: the failure path must hold
    with pytest.raises(ExportError, match="differs from torch by .* so it was not kept"):
        export_run(every_model_run.path, registry, tmp_path / "bad.onnx", pipeline="mlp")
    assert list(tmp_path.iterdir()) == []


def test_several_pipelines_need_a_choice_and_the_error_lists_them(every_model_run, registry):
    with pytest.raises(ExportError, match="6 deep pipelines; choose one with --pipeline: 'mlp', 'lenet5'"):
        export_run(every_model_run.path, registry)
    with pytest.raises(ExportError, match="no deep pipeline 'cnn'; its deep pipelines are 'mlp'"):
        export_run(every_model_run.path, registry, pipeline="cnn")


def test_a_run_without_checkpoint_or_network_says_what_to_do(every_model_run, registry, tmp_path):
    stopped = Run(tmp_path / "stopped")
    stopped.write("config.json", {"deep": [{"label": "CNN"}]})
    with pytest.raises(ExportError, match="has no checkpoint .* stopped before its first epoch ended"):
        export_run(stopped.path, registry)
    classical = Run(tmp_path / "classical")
    classical.write("config.json", {"deep": []})
    with pytest.raises(ExportError, match="has no deep pipeline, so there is no network to export"):
        export_run(classical.path, registry)
    with pytest.raises(ExportError, match="is not a readable cvstudio run"):
        export_run(tmp_path / "nowhere", registry)


class DataDependent(torch.nn.Module):
    """A branch on the input's values: torch.export cannot trace it, TorchScript follows one branch."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(12, 3)

    def forward(self, x):
        if x.mean() > 0:
            x = x * 2
        return self.fc(x.flatten(1))


def test_a_model_torch_export_cannot_trace_falls_back_to_the_torchscript_exporter():
    model = DataDependent().eval()
    proto, exporter = export.to_onnx(model, np.ones((2, 3, 2, 2), np.float32))
    assert exporter == "TorchScript"
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    batch = np.ones((5, 3, 2, 2), np.float32)  # the batch dimension stays dynamic
    with torch.no_grad():
        expected = export.with_softmax(model)(torch.from_numpy(batch)).numpy()
    assert np.allclose(session.run(None, {"images": batch})[0], expected, atol=1e-5)
