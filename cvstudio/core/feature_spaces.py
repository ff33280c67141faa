"""Learned against engineered features, through one and the same classifier (``[study] kind = "features"``).

Every feature space goes through the classifier of the first [[classical]] pipeline, so only the
features differ: each [[classical]] pipeline's hand-crafted features, each [[deep]] network's learned
features (the input of its last Linear layer, once trained) and, when its weights are at hand, an
ImageNet-pretrained backbone's. Each space is also projected to 2-D (PCA, t-SNE) and coloured by
class, with two numbers for how well the classes separate there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator, Iterable, Mapping

import numpy as np

from cvstudio.core.classical import classify_features, extract_split_features
from cvstudio.core.data import ImageDataset, Split
from cvstudio.core.downloads import DownloadFailed, download
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
from cvstudio.core.runs import Run
from cvstudio.core.saliency import last_called
from cvstudio.core.tasks import Progress, TaskState
from cvstudio.plugins import Registry

TITLE = "Learned against engineered features"
NEEDS_PIPELINES = True
PRETRAINED = {"resnet18": "ResNet18_Weights.IMAGENET1K_V1"}
PROJECTIONS = ("pca", "tsne")
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE"}
DEFAULTS: dict[str, Any] = {"pretrained": "resnet18", "pretrained_size": 64, "projections": list(PROJECTIONS),
                            "points": 500}
BATCH = 256
NEIGHBOURS = 5


Pretrained = tuple[Any, tuple[float, ...], tuple[float, ...]]  # the network, its input mean and std


class PretrainedUnavailable(RuntimeError):
    """A pretrained backbone's weights are neither cached nor downloadable; the message says how to fix it."""


@dataclass(frozen=True)
class FeatureSpaceSkipped:
    space: str
    reason: str

    def describe(self) -> str:
        return f"  {self.reason}"


@dataclass(frozen=True)
class FeatureSpaceProjected:
    """One feature space's test images in 2-D; ``knn_accuracy`` is a 5-nearest-neighbour vote in the plane."""

    space: str
    method: str
    points: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    knn_accuracy: float
    silhouette: float

    def describe(self) -> str:
        return (f"  {METHOD_NAMES[self.method]} of {self.space}: 5-NN accuracy in 2-D {self.knn_accuracy:.3f}, "
                f"silhouette {self.silhouette:.2f}")


def parse_options(table: Mapping[str, Any]) -> dict[str, Any]:
    check_keys(table, set(DEFAULTS), "[study] of kind 'features'")
    options = {**DEFAULTS, **table}
    if options["pretrained"] not in ("none", *PRETRAINED):
        raise ExperimentError(f"[study] pretrained = {options['pretrained']!r}: use \"none\" or one of "
                              f"{', '.join(repr(name) for name in PRETRAINED)}")
    size = options["pretrained_size"]
    if not isinstance(size, int) or not 32 <= size <= 224:
        raise ExperimentError(f"[study] pretrained_size = {size!r}: give the side, in pixels, that images are "
                              "resized to for the pretrained network, from 32 to 224")
    projections = options["projections"]
    if not isinstance(projections, list) or not set(projections) <= set(PROJECTIONS):
        raise ExperimentError(f"[study] projections = {projections!r}: give a list of {', '.join(PROJECTIONS)}, "
                              "e.g. [\"pca\"] (or [] for none)")
    points = options["points"]
    if not isinstance(points, int) or not 20 <= points <= 5000:
        raise ExperimentError(f"[study] points = {points!r}: the number of test images to project, 20 to 5000")
    return options


def run(experiment: Experiment, registry: Registry, run: Run, state: TaskState) -> Generator[Any, None, dict[str, Any]]:
    """Every feature space through the same classifier; their accuracies and 2-D pictures side by side."""
    summary = open_summary(experiment, run, pipelines={}, feature_spaces={}, skipped=[])
    return (yield from with_outcome(run, summary, _study(experiment, registry, run, state, summary)))


def _study(
    experiment: Experiment, registry: Registry, run: Run, state: TaskState, summary: dict[str, Any]
) -> Generator[Any, None, None]:
    if not experiment.classical:
        raise ExperimentError("a 'features' study needs a [[classical]] pipeline: its classifier is the one that "
                              "every feature space goes through")
    options = experiment.study.params
    classifier_ref = experiment.classical[0].classifier
    summary["classifier"] = classifier_ref.name
    dataset = load_dataset(experiment, registry)
    split = split_dataset(experiment, dataset)
    yield dataset_ready(experiment, dataset, split, run, summary)

    def through_classifier(label: str, space: str, features: dict[str, np.ndarray], started: float
                           ) -> Generator[Any, None, None]:
        """Fit and evaluate the shared classifier on one space's features; ``started``: when reading them began."""
        result = yield from classify_features(label, build_classifier(classifier_ref, registry), features,
                                              dataset, split, state)
        yield finish_pipeline(run, summary, result, "classical" if space == "engineered" else "deep", {
            "space": space, "classifier": classifier_ref.name, "feature_dim": result.feature_dim,
            "seconds": round(time.perf_counter() - started, 3)})
        yield from _project(label, space, features["test"], dataset.labels[split.test], dataset.class_names,
                            options, run, summary, state)

    for pipeline in experiment.classical:
        label = f"{' + '.join(f.name for f in pipeline.features)} → {classifier_ref.name}"
        yield PipelineStarted(label, "classical")
        started = time.perf_counter()
        features = yield from extract_split_features(label, build_extractor(pipeline, registry), dataset, split, state)
        yield from through_classifier(label, "engineered", features, started)
    for pipeline in experiment.deep:
        yield PipelineStarted(pipeline.label, "deep")
        result = yield from train_deep(pipeline, registry, dataset, split, run, state)
        yield finish_pipeline(run, summary, result, "deep", {**deep_record(result, run), "space": "learned",
                                                      "classifier": "the network's own last layer"})
        label = f"{pipeline.label} features → {classifier_ref.name}"
        yield PipelineStarted(label, "deep")
        started = time.perf_counter()
        normalization = result.normalization
        features = yield from _split_features(label, result.model, dataset, split, normalization.mean,
                                              normalization.std, None, state)
        yield from through_classifier(label, "learned", features, started)
    if options["pretrained"] != "none":
        name = options["pretrained"]
        label = f"{name} (ImageNet) features → {classifier_ref.name}"
        try:
            backbone, mean, std = yield from load_pretrained(name, state)
        except PretrainedUnavailable as exc:
            summary["skipped"].append({"space": label, "reason": str(exc)})
            run.log(str(exc))
            run.write("summary.json", summary)
            yield FeatureSpaceSkipped(label, str(exc))
            return
        yield PipelineStarted(label, "deep")
        started = time.perf_counter()
        features = yield from _split_features(label, backbone, dataset, split, mean, std, options["pretrained_size"],
                                              state)
        yield from through_classifier(label, "pretrained", features, started)


def classifier_head(model: Any, probe: Any) -> Any:
    """The Linear layer that computes the class scores: the last one a forward pass calls."""
    import torch

    found = last_called(model, probe, torch.nn.Linear)
    if found is None:
        raise ExperimentError(f"{type(model).__name__} has no Linear layer computing its class scores, so its "
                              "learned features (that layer's input) cannot be read")
    return found[1]


def penultimate_features(model: Any, batches: Iterable[Any]) -> np.ndarray:
    """For each batch of normalised images, what the network hands its last Linear layer: its learned features."""
    import torch

    model.eval()
    batches = iter(batches)
    first = next(batches)
    head = classifier_head(model, first[:2])
    captured: list[np.ndarray] = []
    handle = head.register_forward_pre_hook(
        lambda module, inputs: captured.append(inputs[0].detach().float().flatten(1).cpu().numpy()))
    try:
        with torch.no_grad():
            for batch in (first, *batches):
                model(batch)
    finally:
        handle.remove()
    return np.concatenate(captured)


def load_pretrained(name: str, state: TaskState) -> Generator[Progress, None, Pretrained]:
    """A torchvision backbone with its ImageNet weights, from the torch hub cache or downloaded there once.

    Raises PretrainedUnavailable, naming the file to place, when neither works (offline, no cache).
    """
    import torch
    import torchvision

    weights = torchvision.models.get_weight(PRETRAINED[name])
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.is_file():
        try:
            yield from download(weights.url, cached, f"{name} (ImageNet)", state)
        except DownloadFailed as exc:
            raise PretrainedUnavailable(
                f"pretrained {name} left out: its ImageNet weights are not on this computer and could not be "
                f"downloaded: {exc}. To include it, run the lesson once with a network connection, or copy "
                f"{cached.name} (from {weights.url}) into {cached.parent}") from exc
    model = torchvision.models.get_model(name, weights=None)
    try:
        model.load_state_dict(torch.load(cached, map_location="cpu", weights_only=True))
    except Exception as exc:  # a truncated or foreign file: unpickling and shape errors alike
        raise PretrainedUnavailable(
            f"pretrained {name} left out: {cached} is not {name}'s weights ({type(exc).__name__}); delete it to "
            f"download it again, or replace it with {weights.url}") from exc
    transform = weights.transforms()
    return model, tuple(transform.mean), tuple(transform.std)


def _split_features(
    label: str, model: Any, dataset: ImageDataset, split: Split, mean: Iterable[float], std: Iterable[float],
    size: int | None, state: TaskState,
) -> Generator[Progress, None, dict[str, np.ndarray]]:
    """A network's penultimate features for train, val and test, in batches (optionally resized to ``size``)."""
    import torch

    device = next(model.parameters()).device
    shape = (1, -1, 1, 1)
    mean_t = torch.tensor(list(mean), dtype=torch.float32, device=device).view(shape)
    std_t = torch.tensor(list(std), dtype=torch.float32, device=device).view(shape)

    def batches(indices: np.ndarray) -> Generator[Any, None, None]:
        for start in range(0, len(indices), BATCH):
            state.check()
            raw = torch.from_numpy(dataset.images[indices[start : start + BATCH]]).to(device).permute(0, 3, 1, 2)
            images = raw.float() / 255.0
            if images.shape[1] != mean_t.shape[1]:
                images = images.expand(-1, mean_t.shape[1], -1, -1)  # grey images for an RGB network
            if size is not None:
                images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear",
                                                         align_corners=False)
            yield (images - mean_t) / std_t

    features = {}
    for part in ("train", "val", "test"):
        yield Progress(label, f"features ({part})", 0, 1)
        features[part] = penultimate_features(model, batches(getattr(split, part)))
        yield Progress(label, f"features ({part})", 1, 1)
    return features


def project(features: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """(N, D) features → (N, 2) points, after standardising each feature."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.preprocessing import StandardScaler

    scaled = StandardScaler().fit_transform(features)
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(scaled)
    perplexity = min(30.0, (len(scaled) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(scaled)


def separation(points: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """How well classes separate in 2-D: cross-validated 5-nearest-neighbour accuracy, and the silhouette."""
    from sklearn.metrics import silhouette_score
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    folds = int(min(5, np.bincount(labels)[np.unique(labels)].min()))
    if len(np.unique(labels)) < 2 or folds < 2:
        return float("nan"), float("nan")
    knn = KNeighborsClassifier(n_neighbors=min(NEIGHBOURS, len(points) - len(points) // folds - 1))
    accuracy = float(cross_val_score(knn, points, labels, cv=folds).mean())
    return accuracy, float(silhouette_score(points, labels))


def _project(
    label: str, space: str, features: np.ndarray, labels: np.ndarray, class_names: tuple[str, ...],
    options: Mapping[str, Any], run: Run, summary: dict[str, Any], state: TaskState,
) -> Generator[Any, None, None]:
    """Project a space's test features with each method; record the points and the numbers in the run."""
    chosen = _stratified_sample(labels, options["points"])
    record: dict[str, Any] = {"space": space, "feature_dim": int(features.shape[1]), "projections": {}}
    summary["feature_spaces"][label] = record
    for method in options["projections"]:
        state.check()
        yield Progress(label, METHOD_NAMES[method], 0, 1)
        points = project(features[chosen], method)
        knn, silhouette = separation(points, labels[chosen])
        path = f"projections/{run.file_stem(label)}-{method}.json"
        run.write(path, {"space": label, "method": method, "points": np.round(points, 4), "labels": labels[chosen],
                         "class_names": list(class_names)})
        record["projections"][method] = {"knn_accuracy": knn, "silhouette": silhouette, "points": path}
        run.write("summary.json", summary)
        yield Progress(label, METHOD_NAMES[method], 1, 1)
        yield FeatureSpaceProjected(label, method, points, labels[chosen], class_names, knn, silhouette)


def _stratified_sample(labels: np.ndarray, limit: int, seed: int = 0) -> np.ndarray:
    """``limit`` positions at most, each class keeping its share, in their original order.

    Each image gets a random place along its own class, from 0 to 1; taking the lowest
    places takes the same fraction of every class.
    """
    if len(labels) <= limit:
        return np.arange(len(labels))
    order = np.random.default_rng(seed).permutation(len(labels))
    place = np.empty(len(labels))
    for label in np.unique(labels):
        members = order[labels[order] == label]
        place[members] = (np.arange(len(members)) + 0.5) / len(members)
    return np.sort(np.argsort(place, kind="stable")[:limit])


def projection_from_run(run: Run, path: str) -> FeatureSpaceProjected:
    """A projection saved in a run, as the event that first carried it (for reopening the run)."""
    data = run.read(path)
    labels = np.asarray(data["labels"], dtype=np.int64)
    points = np.asarray(data["points"], dtype=np.float64)
    record = run.read("summary.json")["feature_spaces"][data["space"]]["projections"][data["method"]]
    return FeatureSpaceProjected(data["space"], data["method"], points, labels, tuple(data["class_names"]),
                                 record["knn_accuracy"], record["silhouette"])


def format_summary(summary: Mapping[str, Any]) -> str:
    """Every feature space's test accuracy through the shared classifier, and how well it separates in 2-D."""
    lines = [f"{summary['title']} — {summary['status']}",
             f"the same classifier for every feature space: {summary.get('classifier', '?')}"]
    spaces = summary["feature_spaces"]
    methods = [m for m in PROJECTIONS if any(m in s["projections"] for s in spaces.values())]
    width = max((len(name) for name in summary["pipelines"]), default=10)
    lines.append(f"{'features → classifier':<{width}}  {'features':<10}  test acc  "
                 + "  ".join(f"{METHOD_NAMES[m] + ' 5-NN':>10}" for m in methods))
    for name, record in summary["pipelines"].items():
        projections = spaces.get(name, {}).get("projections", {})
        scores = "  ".join(f"{projections[m]['knn_accuracy']:>10.3f}" if m in projections else f"{'':>10}"
                           for m in methods)
        lines.append(f"{name:<{width}}  {record.get('space', ''):<10}  {record['test_accuracy']:>8.3f}  {scores}")
    lines += [entry["reason"] for entry in summary.get("skipped", [])]
    return "\n".join(lines)
