"""Exporting a run's trained network to ONNX, verified against torch before it is kept.

The export uses torch's ``torch.export``-based ONNX exporter (``dynamo=True``,
which needs ``onnxscript``): it handles every built-in model with a dynamic
batch dimension. A third-party model that ``torch.export`` cannot trace falls
back to the TorchScript exporter; the metadata records which one was used.

The file ends in a softmax, so it outputs class probabilities: ONNX Runtime
computes them in the same call, and any program that loads the file gets
what a classifier is expected to give.

Everything a user of the file needs to feed it images (class names, input
size and channels, channel order, normalisation, the run it came from) is
embedded as JSON under the ``cvstudio`` metadata key, so cvstudio's own
exports need no preprocessing config.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cvstudio.core.preprocessing import Preprocessing
from cvstudio.core.runs import CONFIG_FILE, Run, atomic_write
from cvstudio.plugins import Registry

METADATA_KEY = "cvstudio"
OPSET = 18
TOLERANCE = 1e-4
VERIFY_IMAGES = 32
INPUT_NAME, OUTPUT_NAME = "images", "probabilities"


class ExportError(RuntimeError):
    """A run cannot be exported, or its export does not match torch; the message says what to do."""


@dataclass(frozen=True)
class TrainedModel:
    """A run's network rebuilt from its checkpoint, with what is needed to feed it images."""

    run: Run
    pipeline: str
    model: Any
    checkpoint: dict[str, Any]

    def preprocessing(self) -> Preprocessing:
        """Exactly what training did to an image: RGB or grey, scaled to 0–1, normalised, NCHW."""
        c = self.checkpoint
        return Preprocessing(size=tuple(c["image_size"]), color="rgb" if c["in_channels"] == 3 else "grayscale",
                             layout="NCHW", scale="0-1", mean=tuple(c["normalization"]["mean"]),
                             std=tuple(c["normalization"]["std"]), outputs="probabilities")

    def metadata(self, exporter: str) -> dict[str, Any]:
        c = self.checkpoint
        return {
            "format": 1,
            "class_names": c["class_names"],
            "preprocessing": self.preprocessing().to_dict(),
            "model": c["model"],
            "model_params": c["model_params"],
            "epoch": c["epoch"],
            "run": str(self.run.path.resolve()),
            "pipeline": self.pipeline,
            "exporter": exporter,
            "opset": OPSET,
        }


@dataclass(frozen=True)
class ExportResult:
    path: Path
    pipeline: str
    exporter: str
    max_abs_diff: float
    verified_on: str
    notice: str | None = None  # what a user must know about the network: e.g. its run did not complete


def deep_pipelines(run: Run) -> list[str]:
    """Labels of the run's deep pipelines, in the order they ran."""
    try:
        config = run.read(CONFIG_FILE)
    except (OSError, ValueError) as exc:
        raise ExportError(f"'{run.path}' is not a readable cvstudio run ({CONFIG_FILE}: {exc}); "
                          "pass the folder that `cvstudio run` created") from None
    return [entry["label"] for entry in config.get("deep", [])]


def choose_pipeline(run: Run, pipeline: str | None) -> str:
    labels = deep_pipelines(run)
    if not labels:
        raise ExportError(f"run '{run.id}' has no deep pipeline, so there is no network to export; "
                          "run an experiment with a [[deep]] pipeline")
    if pipeline is None:
        if len(labels) > 1:
            raise ExportError(f"run '{run.id}' has {len(labels)} deep pipelines; choose one with "
                              f"--pipeline: {', '.join(repr(label) for label in labels)}")
        return labels[0]
    if pipeline not in labels:
        raise ExportError(f"run '{run.id}' has no deep pipeline {pipeline!r}; "
                          f"its deep pipelines are {', '.join(repr(label) for label in labels)}")
    return pipeline


def load_trained_model(run_dir: Path, registry: Registry, pipeline: str | None = None) -> TrainedModel:
    """Rebuild ``pipeline``'s network (the only one when ``None``) from the run's last checkpoint."""
    import torch

    run = Run(Path(run_dir))
    label = choose_pipeline(run, pipeline)
    path = run.checkpoint_path(label)
    if not path.exists():
        raise ExportError(f"pipeline {label!r} of run '{run.id}' has no checkpoint ({path} is missing): "
                          "it stopped before its first epoch ended; run it again")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a damaged file
        raise ExportError(f"checkpoint {path} cannot be read ({exc}); run the experiment again") from None
    spec = registry.get("models", checkpoint["model"])
    model = spec.create(checkpoint["in_channels"], tuple(checkpoint["image_size"]),
                        len(checkpoint["class_names"]), **checkpoint["model_params"])
    model.load_state_dict(checkpoint["state_dict"])
    return TrainedModel(run, label, model.eval(), checkpoint)


def export_run(
    run_dir: Path, registry: Registry, output: Path | None = None, pipeline: str | None = None
) -> ExportResult:
    """Export a run's network to ONNX and verify it against torch; a mismatch is an error, not a file.

    The default output is ``<run>/exports/<pipeline>.onnx``.
    """
    import onnx

    trained = load_trained_model(run_dir, registry, pipeline)
    output = Path(output) if output is not None else trained.run.path / "exports" / f"{trained.run.file_stem(trained.pipeline)}.onnx"
    batch, verified_on = verification_batch(trained, registry)
    proto, exporter = to_onnx(trained.model, batch)
    _set_metadata(proto, trained.metadata(exporter))
    differences: list[float] = []

    def write_verified(tmp: Path) -> None:
        """Save the file and check it in ONNX Runtime: only a file that matches torch replaces ``output``."""
        onnx.save(proto, str(tmp))
        diff = max_abs_difference(tmp, trained.model, batch)
        if not diff <= TOLERANCE:
            raise ExportError(
                f"the ONNX export of {trained.pipeline!r} differs from torch by {diff:.3g} on {verified_on} "
                f"(limit {TOLERANCE:g}), so it was not kept; the model uses an operation that ONNX Runtime "
                "computes differently: report it with the model's name"
            )
        differences.append(diff)

    atomic_write(output, write_verified)
    return ExportResult(output, trained.pipeline, exporter, differences[0], verified_on, unfinished_notice(trained))


def unfinished_notice(trained: TrainedModel) -> str | None:
    """What to say when the network comes from a run that did not complete, else None."""
    status = trained.run.status
    if status == "completed":
        return None
    return (f"run '{trained.run.id}' is {status}, not completed: this is its network after epoch "
            f"{trained.checkpoint.get('epoch', '?')}, the last one it finished")


def to_onnx(model: Any, example: np.ndarray) -> tuple[Any, str]:
    """The model and a softmax as an ONNX ModelProto with a dynamic batch dimension, and the exporter's name."""
    import torch

    model = with_softmax(model)
    x = torch.from_numpy(example[:2] if len(example) >= 2 else np.repeat(example, 2, axis=0))
    names = {"input_names": [INPUT_NAME], "output_names": [OUTPUT_NAME], "opset_version": OPSET}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporters warn about internals a user cannot act on
        try:
            program = torch.onnx.export(model, (x,), dynamo=True, verbose=False,
                                        dynamic_shapes=({0: torch.export.Dim("batch")},), **names)
            return program.model_proto, "torch.export (dynamo)"
        except Exception as dynamo_error:  # noqa: BLE001 - any failure: try the older exporter
            buffer = io.BytesIO()
            try:
                torch.onnx.export(model, (x,), buffer, dynamo=False,
                                  dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}, **names)
            except Exception as exc:  # noqa: BLE001
                raise ExportError(f"neither ONNX exporter could convert this model (torch.export: "
                                  f"{str(dynamo_error).splitlines()[0]}; TorchScript: {exc})") from exc
    import onnx

    return onnx.load_from_string(buffer.getvalue()), "TorchScript"


def verification_batch(trained: TrainedModel, registry: Registry) -> tuple[np.ndarray, str]:
    """Up to 32 validation images of the run, preprocessed as in training; random ones if the data is gone."""
    from cvstudio.core.data import stratified_split

    preprocessing = trained.preprocessing()
    try:
        config = trained.run.read(CONFIG_FILE)
        dataset = registry.get("datasets", config["dataset"]["name"]).create(**config["dataset"]["params"])
        fractions = config["split"]
        split = stratified_split(dataset.labels, fractions["val"], fractions["test"], fractions["seed"])
        index = (split.val if len(split.val) else split.train)[:VERIFY_IMAGES]
        return preprocessing.apply(dataset.images[index]), f"{len(index)} validation images"
    except Exception as exc:  # noqa: BLE001 - a moved dataset must not block the export
        rng = np.random.default_rng(0)
        h, w = trained.checkpoint["image_size"]
        images = rng.integers(0, 256, (8, h, w, trained.checkpoint["in_channels"]), dtype=np.uint8)
        return preprocessing.apply(images), f"8 random images (the run's dataset could not be loaded: {exc})"


def with_softmax(model: Any) -> Any:
    """The network followed by a softmax over classes: what an export computes."""
    import torch

    return torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()


def max_abs_difference(path: Path, model: Any, batch: np.ndarray) -> float:
    """Largest |ONNX Runtime (CPU) − torch| over the class probabilities for ``batch``."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: batch})
    with torch.no_grad():
        torch_out = with_softmax(model)(torch.from_numpy(batch)).numpy()
    return float(np.abs(onnx_out - torch_out).max())


def _set_metadata(proto: Any, metadata: dict[str, Any]) -> None:
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata)
    proto.producer_name = "cvstudio"
    proto.doc_string = f"{metadata['model']} trained by cvstudio (pipeline {metadata['pipeline']!r})"

