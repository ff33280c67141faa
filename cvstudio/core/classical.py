"""The classical pipeline: hand-crafted features → standardise → classifier."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Generator, Mapping

import numpy as np

from cvstudio.core.data import ImageDataset, Split
from cvstudio.core.evaluation import Evaluation, evaluate, softmax
from cvstudio.core.features import FeatureExtractor
from cvstudio.core import stoppable
from cvstudio.core.tasks import Progress, TaskState

FEATURE_BATCH = 256


@dataclass(frozen=True)
class ClassicalResult:
    pipeline: str
    val: Evaluation
    test: Evaluation
    feature_dim: int
    extract_seconds: float
    fit_seconds: float
    model: Any


def extract_features(
    extractor: FeatureExtractor,
    images: np.ndarray,
    state: TaskState,
    pipeline: str,
    stage: str = "features",
    batch_size: int = FEATURE_BATCH,
) -> Generator[Progress, None, np.ndarray]:
    """Features of ``images`` in batches, yielding progress; cancellable between batches."""
    chunks = []
    for start in range(0, len(images), batch_size):
        state.check()
        chunks.append(extractor.transform(images[start : start + batch_size]))
        yield Progress(pipeline, stage, min(start + batch_size, len(images)), len(images))
    return np.concatenate(chunks).astype(np.float32, copy=False)


def class_probabilities(model: Any, features: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, K) class scores: ``predict_proba`` when the classifier has it, else a softmax of its margins."""
    if hasattr(model, "predict_proba"):
        try:
            probabilities = model.predict_proba(features)
        except AttributeError:  # e.g. SVC without probability=True
            probabilities = None
        if probabilities is not None:
            return _all_classes(probabilities, model.classes_, num_classes)
    scores = model.decision_function(features)
    if scores.ndim == 1:
        scores = np.stack([-scores, scores], axis=1)
    return _all_classes(softmax(scores), model.classes_, num_classes)


def _all_classes(probabilities: np.ndarray, classes: np.ndarray, num_classes: int) -> np.ndarray:
    """Columns for every class, even those missing from a small training set."""
    full = np.zeros((len(probabilities), num_classes))
    full[:, classes] = probabilities
    return full


def run_classical(
    pipeline: str,
    extractor: FeatureExtractor,
    classifier: Any,
    dataset: ImageDataset,
    split: Split,
    state: TaskState,
) -> Generator[Progress, None, ClassicalResult]:
    """Fit the extractor and classifier on the training part; evaluate on validation and test."""
    started = time.perf_counter()
    features = yield from extract_split_features(pipeline, extractor, dataset, split, state)
    extract_seconds = time.perf_counter() - started
    return (yield from classify_features(pipeline, classifier, features, dataset, split, state, extract_seconds))


def extract_split_features(
    pipeline: str, extractor: FeatureExtractor, dataset: ImageDataset, split: Split, state: TaskState
) -> Generator[Progress, None, dict[str, np.ndarray]]:
    """Fit the extractor on the training part, then the features of each part: train, val, test."""
    extractor.fit(dataset.images[split.train])
    features = {}
    for part in ("train", "val", "test"):
        features[part] = yield from extract_features(
            extractor, dataset.images[getattr(split, part)], state, pipeline, stage=f"features ({part})"
        )
    return features


def classify_features(
    pipeline: str,
    classifier: Any,
    features: Mapping[str, np.ndarray],
    dataset: ImageDataset,
    split: Split,
    state: TaskState,
    extract_seconds: float = 0.0,
) -> Generator[Progress, None, ClassicalResult]:
    """Standardise ready-made ``features`` (per split part), fit the classifier on the training part;
    evaluate on validation and test. Any features will do: hand-crafted ones, or a network's."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    state.check()
    yield Progress(pipeline, "fitting", 0, 1)
    started = time.perf_counter()
    model = yield from stoppable.fit(make_pipeline(StandardScaler(), classifier), features["train"],
                                     dataset.labels[split.train], state, pipeline)
    fit_seconds = time.perf_counter() - started
    yield Progress(pipeline, "fitting", 1, 1)
    evaluations = {
        part: evaluate(
            dataset.labels[getattr(split, part)],
            class_probabilities(model, features[part], dataset.num_classes),
            dataset.class_names,
            getattr(split, part),
        )
        for part in ("val", "test")
    }
    return ClassicalResult(
        pipeline, evaluations["val"], evaluations["test"], features["train"].shape[1],
        extract_seconds, fit_seconds, model,
    )
