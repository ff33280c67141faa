"""Hierarchical features (``[study] kind = "hierarchy"``): what each layer of a network makes of one image.

Layers are shown from the input to the answer, each with what that depth
tends to capture; beside the first layer, the hand-crafted descriptors of the
first [[classical]] pipeline; and a Grad-CAM of where the network looked,
beside the classical model's decision for the same image. Headless, the
pictures are written into the run as PNG files with a ``hierarchy.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generator, Mapping

import numpy as np

from cvstudio.core import checkpoints
from cvstudio.core.checkpoints import CheckpointError, image_snapshot, normalized_image
from cvstudio.core.classical import class_probabilities, run_classical
from cvstudio.core.data import ImageDataset
from cvstudio.core.experiment import (
    dataset_ready,
    Experiment,
    ExperimentError,
    PipelineStarted,
    check_keys,
    finish_pipeline,
    build_classifier,
    build_extractor,
    deep_record,
    load_dataset,
    split_dataset,
    train_deep,
    open_summary,
    with_outcome,
)
from cvstudio.core.features import CombinedFeatures, Explanation, FeatureExtractor
from cvstudio.core.pictures import colorize, layer_picture, normalized, overlay, save_png
from cvstudio.core.runs import Run, slugify
from cvstudio.core.saliency import GradCam, SaliencyUnavailable, grad_cam
from cvstudio.core.tasks import TaskState
from cvstudio.core.training import Normalization
from cvstudio.plugins import Registry

TITLE = "Hierarchical features"
NEEDS_PIPELINES = True
DEFAULTS: dict[str, Any] = {"image": -1, "checkpoint": "", "maps": 16}
FOLDER = "hierarchy"

FIRST_LAYER = "edges, blobs of colour and simple gradients: what the first filters respond to"
LOW_LAYER = "combinations of edges: corners, curves, stripes and small textures"
HIGH_LAYER = "larger parts of the shapes: arcs, points, junctions, whole stretches of outline"
SUMMARY_LAYER = "a summary of the whole image: which parts are there, no longer where they are"
SCORES_LAYER = "one score per class: the network's answer"


@dataclass(frozen=True)
class LayerView:
    name: str
    caption: str
    activation: np.ndarray


@dataclass(frozen=True)
class Decision:
    """A model's answer for one image: the predicted class and every class's probability."""

    pipeline: str
    probabilities: np.ndarray

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))


@dataclass(frozen=True)
class HierarchyReport:
    """Everything shown for one image. ``gradcam`` is None when the model has no convolution
    (``gradcam_note`` says why); ``explanations`` holds an error text for an extractor that failed."""

    index: int
    layers: list[LayerView]
    gradcam: GradCam | None
    gradcam_note: str
    deep: Decision
    classical: Decision
    explanations: dict[str, Explanation | str] = field(default_factory=dict)


@dataclass
class TrainedModels:
    """The trained network and classical pipeline, ready to explain any image of the dataset."""

    dataset: ImageDataset
    network: Any
    normalization: Normalization
    deep_label: str
    classical_label: str
    classifier: Any
    extractor: FeatureExtractor

    def explain(self, index: int) -> HierarchyReport:
        import torch

        image = self.dataset.images[index]
        batch = normalized_image(image, self.normalization, next(self.network.parameters()).device)
        activations = image_snapshot(self.network, self.normalization, self.dataset, index, self.deep_label,
                                     0).activations
        try:
            cam, note = grad_cam(self.network, batch), ""
            probabilities = cam.probabilities
        except SaliencyUnavailable as exc:
            cam, note = None, str(exc)
            with torch.no_grad():
                probabilities = torch.softmax(self.network(batch)[0].float(), 0).cpu().numpy()
        features = self.extractor.transform(image[None])
        extractors = self.extractor.extractors if isinstance(self.extractor, CombinedFeatures) else [self.extractor]
        return HierarchyReport(
            index=index,
            layers=[LayerView(name, caption, activations[name]) for name, caption in layer_captions(activations)],
            gradcam=cam,
            gradcam_note=note,
            deep=Decision(self.deep_label, probabilities),
            classical=Decision(self.classical_label,
                               class_probabilities(self.classifier, features, self.dataset.num_classes)[0]),
            explanations={e.name: _explain(e, image) for e in extractors},
        )


@dataclass(frozen=True)
class HierarchyReady:
    """The study's models are trained (or loaded) and the chosen image explained."""

    models: TrainedModels
    report: HierarchyReport

    def describe(self) -> str:
        names = self.models.dataset.class_names
        return (f"  image #{self.report.index}: {self.report.deep.pipeline} says {names[self.report.deep.predicted]}, "
                f"{self.report.classical.pipeline} says {names[self.report.classical.predicted]}")


def layer_captions(activations: Mapping[str, np.ndarray]) -> list[tuple[str, str]]:
    """Each layer, input to output, with what a layer at that depth tends to capture."""
    names = list(activations)
    maps = [n for n in names if activations[n].ndim == 3]
    captions = []
    for name in names:
        if name == names[-1]:
            caption = SCORES_LAYER
        elif name in maps:
            depth = maps.index(name)
            caption = FIRST_LAYER if depth == 0 else LOW_LAYER if depth < len(maps) / 2 else HIGH_LAYER
        else:
            caption = SUMMARY_LAYER
        captions.append((name, caption))
    return captions


def parse_options(table: Mapping[str, Any]) -> dict[str, Any]:
    check_keys(table, set(DEFAULTS), "[study] of kind 'hierarchy'")
    options = {**DEFAULTS, **table}
    if not isinstance(options["image"], int) or options["image"] < -1:
        raise ExperimentError(f"[study] image = {options['image']!r}: give the index of an image of the dataset "
                              "(-1: the first test image)")
    if not isinstance(options["checkpoint"], str):
        raise ExperimentError(f"[study] checkpoint = {options['checkpoint']!r}: give the path of a run's "
                              "checkpoints/NAME.pt, or \"\" to train the network")
    if not isinstance(options["maps"], int) or not 1 <= options["maps"] <= 64:
        raise ExperimentError(f"[study] maps = {options['maps']!r}: feature maps drawn per layer, 1 to 64")
    return options


def run(experiment: Experiment, registry: Registry, run: Run, state: TaskState) -> Generator[Any, None, dict[str, Any]]:
    """Train (or load) the network and fit the classical pipeline, then explain one image into the run."""
    summary = open_summary(experiment, run, pipelines={})
    return (yield from with_outcome(run, summary, _study(experiment, registry, run, state, summary)))


def _study(
    experiment: Experiment, registry: Registry, run: Run, state: TaskState, summary: dict[str, Any]
) -> Generator[Any, None, None]:
    if not experiment.classical or not experiment.deep:
        raise ExperimentError("a 'hierarchy' study needs a [[classical]] and a [[deep]] pipeline: it shows the "
                              "network's layers beside the hand-crafted features")
    options = experiment.study.params
    dataset = load_dataset(experiment, registry)
    split = split_dataset(experiment, dataset)
    ready = dataset_ready(experiment, dataset, split, run, summary)
    index = int(split.test[0]) if options["image"] == -1 else options["image"]
    if index >= len(dataset):
        raise ExperimentError(f"[study] image = {index}: the dataset has only {len(dataset)} images (0 to "
                              f"{len(dataset) - 1})")
    yield ready
    classical = experiment.classical[0]
    yield PipelineStarted(classical.label, "classical")
    extractor = build_extractor(classical, registry)
    result = yield from run_classical(classical.label, extractor, build_classifier(classical.classifier, registry),
                                      dataset, split, state)
    seconds = round(result.extract_seconds + result.fit_seconds, 3)
    yield finish_pipeline(run, summary, result, "classical", {"feature_dim": result.feature_dim, "seconds": seconds})
    deep = experiment.deep[0]
    if options["checkpoint"]:
        network, normalization = load_checkpoint(Path(options["checkpoint"]), registry, dataset)
        summary["checkpoint"] = options["checkpoint"]
    else:
        yield PipelineStarted(deep.label, "deep")
        trained = yield from train_deep(deep, registry, dataset, split, run, state)
        yield finish_pipeline(run, summary, trained, "deep", deep_record(trained, run))
        network, normalization = trained.model, trained.normalization
    models = TrainedModels(dataset, network, normalization, deep.label, classical.label, result.model, extractor)
    report = models.explain(index)
    summary["hierarchy"] = write_report(run, report, dataset, options["maps"])
    run.write("summary.json", summary)
    yield HierarchyReady(models, report)


def load_checkpoint(path: Path, registry: Registry, dataset: ImageDataset) -> tuple[Any, Normalization]:
    """A network saved by a run, rebuilt for ``dataset`` (which must be the one it was trained on)."""
    if not path.is_file():
        raise ExperimentError(f"[study] checkpoint {path}: no such file; give the path of a run's "
                              "checkpoints/NAME.pt (see `cvstudio runs`), or leave it out to train the network")
    try:
        network, normalization, _ = checkpoints.load_checkpoint(path, registry, dataset)
    except CheckpointError as exc:
        raise ExperimentError(f"[study] {exc}") from exc
    return network, normalization


def write_report(run: Run, report: HierarchyReport, dataset: ImageDataset, maps: int) -> dict[str, Any]:
    """The report's pictures as PNG files and its numbers as JSON in the run's hierarchy folder;
    returns those numbers, with the JSON file's place in the run as ``file``."""
    folder = run.path / FOLDER
    names = list(dataset.class_names)
    image = dataset.images[report.index]
    save_png(folder / "image.png", image)
    layers = []
    for number, layer in enumerate(report.layers, 1):
        file = f"layer-{number:02d}-{slugify(layer.name)}.png"
        save_png(folder / file, colorize(layer_picture(layer.activation, maps)))
        layers.append({"name": layer.name, "shape": list(layer.activation.shape), "caption": layer.caption,
                       "file": file})
    features = []
    for name, explanation in report.explanations.items():
        entry: dict[str, Any] = {"name": name}
        if isinstance(explanation, str):
            entry["error"] = explanation
        else:
            entry["caption"] = explanation.caption
            if explanation.image is not None:
                entry["file"] = f"feature-{slugify(name)}.png"
                picture = np.asarray(explanation.image)
                if picture.ndim == 2:
                    picture = colorize(normalized(picture), "inferno")
                save_png(folder / entry["file"], picture)
        features.append(entry)
    if report.gradcam is not None:
        save_png(folder / "gradcam.png", overlay(image, report.gradcam.heatmap))
        gradcam: dict[str, Any] = {"layer": report.gradcam.layer, "target": names[report.gradcam.target],
                                   "file": "gradcam.png"}
    else:
        gradcam = {"unavailable": report.gradcam_note}
    data = {
        "image": report.index,
        "label": names[dataset.labels[report.index]],
        "layers": layers,
        "features": features,
        "gradcam": gradcam,
        "deep": _decision(report.deep, names),
        "classical": _decision(report.classical, names),
    }
    run.write(f"{FOLDER}/hierarchy.json", data)
    return {**data, "file": f"{FOLDER}/hierarchy.json"}


def _decision(decision: Decision, names: list[str]) -> dict[str, Any]:
    return {"pipeline": decision.pipeline, "predicted": names[decision.predicted],
            "probabilities": {n: round(float(p), 4) for n, p in zip(names, decision.probabilities)}}


def _explain(extractor: FeatureExtractor, image: np.ndarray) -> Explanation | str:
    try:
        return extractor.explain(image)
    except Exception as exc:  # noqa: BLE001 - one extractor that cannot explain itself must not hide the rest
        return f"{type(exc).__name__}: {exc}"


def format_summary(summary: Mapping[str, Any]) -> str:
    """Both models' answers for the image, and where its pictures are."""
    lines = [f"{summary['title']} — {summary['status']}"]
    if "hierarchy" not in summary:
        return "\n".join(lines)
    report = summary["hierarchy"]
    lines.append(f"image #{report['image']} (true class: {report['label']})")
    for side in ("deep", "classical"):
        decision = report[side]
        lines.append(f"  {decision['pipeline']}: {decision['predicted']} "
                     f"({decision['probabilities'][decision['predicted']]:.0%})")
    gradcam = report["gradcam"]
    lines.append(f"Grad-CAM on layer {gradcam['layer']}: {FOLDER}/{gradcam['file']}" if "file" in gradcam
                 else f"no Grad-CAM: {gradcam['unavailable']}")
    lines.append(f"{len(report['layers'])} layer pictures and {FOLDER}/hierarchy.json in the run folder")
    return "\n".join(lines)
