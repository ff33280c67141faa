"""The same evaluation for classical and deep pipelines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class ClassMetrics:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    """Accuracy, confusion matrix (rows: true class, columns: predicted) and per-sample results.

    ``indices`` are the dataset indices of the evaluated images, so a
    confusion-matrix cell can be traced back to its images.
    """

    class_names: tuple[str, ...]
    labels: np.ndarray
    predictions: np.ndarray
    confidences: np.ndarray
    indices: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.labels == self.predictions)) if len(self.labels) else 0.0

    @property
    def confusion(self) -> np.ndarray:
        k = len(self.class_names)
        return np.bincount(self.labels * k + self.predictions, minlength=k * k).reshape(k, k)

    def per_class(self) -> list[ClassMetrics]:
        confusion = self.confusion
        true_positive = np.diag(confusion).astype(float)
        predicted = confusion.sum(axis=0)
        actual = confusion.sum(axis=1)
        precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
        recall = np.divide(true_positive, actual, out=np.zeros_like(true_positive), where=actual > 0)
        both = precision + recall
        f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(both), where=both > 0)
        return [
            ClassMetrics(name, float(p), float(r), float(f), int(n))
            for name, p, r, f, n in zip(self.class_names, precision, recall, f1, actual)
        ]

    def cell(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Positions (into this evaluation) of one confusion cell, most confident first."""
        members = np.flatnonzero((self.labels == true_class) & (self.predictions == predicted_class))
        return members[np.argsort(-self.confidences[members], kind="stable")]

    def mistakes(self) -> np.ndarray:
        """Positions of every misclassified image, most confident first: where the model is surest and wrong."""
        wrong = np.flatnonzero(self.labels != self.predictions)
        return wrong[np.argsort(-self.confidences[wrong], kind="stable")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "class_names": list(self.class_names),
            "confusion": self.confusion.tolist(),
            "per_class": [vars(m) for m in self.per_class()],
            "samples": {
                "index": self.indices.tolist(),
                "label": self.labels.tolist(),
                "prediction": self.predictions.tolist(),
                "confidence": [round(float(c), 5) for c in self.confidences],
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        samples = data["samples"]
        return cls(
            tuple(data["class_names"]),
            np.asarray(samples["label"], dtype=np.int64),
            np.asarray(samples["prediction"], dtype=np.int64),
            np.asarray(samples["confidence"], dtype=np.float64),
            np.asarray(samples["index"], dtype=np.int64),
        )


def evaluate(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    indices: np.ndarray | None = None,
) -> Evaluation:
    """Evaluate class probabilities (N, K) against true labels (N,)."""
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels, dtype=np.int64)
    if indices is None:
        indices = np.arange(len(labels))
    return Evaluation(
        tuple(class_names),
        labels,
        probabilities.argmax(axis=1).astype(np.int64),
        probabilities.max(axis=1).astype(np.float64),
        np.asarray(indices, dtype=np.int64),
    )


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
