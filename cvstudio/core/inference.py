"""A top-k image classifier on any ONNX model: cvstudio's exports, or image classifiers from elsewhere.

:class:`Predictor` checks that the model takes images, turns images into its
input (see :mod:`cvstudio.core.preprocessing`) and its scores into top-k class
names. Sessions and providers are :mod:`cvstudio.core.sessions`' business.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from cvstudio.core.export import METADATA_KEY
from cvstudio.core.preprocessing import (
    CONFIG_KEYS,
    Preprocessing,
    PreprocessingConfig,
    config_path,
    labels_path,
    read_labels,
)
from cvstudio.core.sessions import InferenceError, open_session

GUESSED, METADATA = "guessed", "the model's metadata"  # where a preprocessing key came from, besides a config
INPUT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
               "tensor(uint8)": np.uint8}


@dataclass(frozen=True)
class ModelInput:
    """The model's image input as ONNX Runtime reports it (dimensions are ints, or names when dynamic)."""

    name: str
    shape: tuple[Any, ...]
    type: str

    @property
    def dtype(self) -> Any:
        return INPUT_TYPES[self.type]

    def guess_layout(self) -> str:
        if self.shape[1] in (1, 3):
            return "NCHW"
        if self.shape[3] in (1, 3):
            return "NHWC"
        raise InferenceError(f"cannot tell where the channels are in input '{self.name}' {list(self.shape)}; "
                             f"set 'layout' (NCHW or NHWC) in the preprocessing config")

    def channels(self, layout: str) -> Any:
        return self.shape[1 if layout == "NCHW" else 3]

    def size(self, layout: str) -> tuple[int, int] | None:
        h, w = self.shape[2:4] if layout == "NCHW" else self.shape[1:3]
        return (h, w) if isinstance(h, int) and isinstance(w, int) else None

    @property
    def max_batch(self) -> int | None:
        return self.shape[0] if isinstance(self.shape[0], int) and self.shape[0] > 0 else None


@dataclass(frozen=True)
class Prediction:
    """The ``k`` most likely classes, best first, as (label, probability)."""

    top: tuple[tuple[str, float], ...]

    @property
    def label(self) -> str:
        return self.top[0][0]

    @property
    def probability(self) -> float:
        return self.top[0][1]


class Predictor:
    """An ONNX image classifier ready to score images: session, preprocessing, labels.

    The preprocessing starts from cvstudio's metadata in the model, else from a
    guess from the input's shape and type; a config (``preprocessing``, else a
    saved ``<model>.preprocess.json`` for a model without metadata) changes the
    keys it states and leaves the others. :attr:`sources` says where each key
    came from.
    """

    def __init__(self, path: Path, provider: str = "auto",
                 preprocessing: Preprocessing | PreprocessingConfig | None = None,
                 labels: Sequence[str] | Path | None = None, threads: int | None = None) -> None:
        self.path = Path(path)
        self.session, self.notice = open_session(self.path, provider, threads)
        self.input = _image_input(self.session)
        props = self.session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, Any] | None = json.loads(props[METADATA_KEY]) if METADATA_KEY in props else None
        if isinstance(preprocessing, Preprocessing):
            preprocessing = PreprocessingConfig.of(preprocessing, "the given preprocessing")
        self.preprocessing, self.sources = self._preprocessing(preprocessing)
        self.output_name = self.session.get_outputs()[0].name
        self.labels = self._labels(labels)
        self._check_labels(self.classes())

    @property
    def providers(self) -> list[str]:
        """What the session actually runs on, best first."""
        return self.session.get_providers()

    def _preprocessing(self, given: PreprocessingConfig | None) -> tuple[Preprocessing, dict[str, str]]:
        """The preprocessing to use, and each key's source: the config's name, METADATA or GUESSED."""
        config = given
        if config is None and self.metadata is None and config_path(self.path).is_file():
            config = PreprocessingConfig.load(config_path(self.path))
        stated = config.values if config is not None else {}
        if self.metadata is not None:
            base, origin = Preprocessing.from_dict(self.metadata["preprocessing"], "the model's metadata"), METADATA
        else:
            layout = stated.get("layout") or self.input.guess_layout()
            channels = self.input.channels(layout)
            base, origin = Preprocessing(color="grayscale" if channels == 1 else "rgb", layout=layout,
                                         scale="0-255" if self.input.dtype == np.uint8 else "0-1"), GUESSED
        chosen = config.over(base) if config is not None else base
        sources = {key: (Path(config.where).name if key in stated else origin) for key in CONFIG_KEYS}
        channels = self.input.channels(chosen.layout)
        if isinstance(channels, int) and channels != chosen.channels:
            raise InferenceError(
                f"the model's input '{self.input.name}' {list(self.input.shape)} takes {channels} channel(s) in "
                f"{chosen.layout} layout, but the preprocessing gives {chosen.color} images ({chosen.channels}); "
                + ("cvstudio feeds grey (1) or colour (3) images only" if channels not in (1, 3) else
                   f"set 'color' to {'grayscale' if channels == 1 else 'rgb'} or fix 'layout'")
            )
        if chosen.size is None and self.input.size(chosen.layout) is not None:
            chosen = replace(chosen, size=self.input.size(chosen.layout))
        return chosen, sources

    def _labels(self, labels: Sequence[str] | Path | None) -> list[str]:
        if isinstance(labels, (str, Path)):
            self.labels_source = f"the labels file {Path(labels).name}"
            return read_labels(Path(labels))
        if labels is not None:
            self.labels_source = "the given list of labels"
            return list(labels)
        if self.metadata is not None:
            self.labels_source = "the model's metadata"
            return list(self.metadata["class_names"])
        self.labels_source = f"the labels file {labels_path(self.path).name}"
        return read_labels(labels_path(self.path)) if labels_path(self.path).is_file() else []

    def classes(self) -> int | None:
        """How many classes the model scores, when its output says so before it runs."""
        shape = self.session.get_outputs()[0].shape
        return shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None

    def _check_labels(self, classes: int | None) -> None:
        """Refuse labels that cannot be the model's classes: every name after the first mismatch would be wrong."""
        if classes is None or not self.labels or len(self.labels) == classes:
            return
        raise InferenceError(f"{self.labels_source} has {len(self.labels)} names but the model scores {classes} "
                             "classes; give one class name per class, "
                             "one a line, in the order of the model's outputs")

    def save_preprocessing(self, preprocessing: Preprocessing) -> Path:
        """Keep an edited config next to the model, where the next session finds it."""
        path = config_path(self.path)
        checked = self._preprocessing(PreprocessingConfig.of(preprocessing, str(path)))  # refused before it is saved
        preprocessing.save(path)
        self.preprocessing, self.sources = checked
        return path

    def prepare(self, images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        return self.preprocessing.apply(images, self.input.dtype)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities (N, classes) for a prepared batch; a softmax is applied to logits.

        A model with a fixed batch size gets a short last batch padded with copies of its last image.
        """
        fixed = self.input.max_batch
        padded = batch if fixed is None or len(batch) >= fixed else np.concatenate(
            [batch, np.repeat(batch[-1:], fixed - len(batch), axis=0)])
        scores = self.session.run([self.output_name], {self.input.name: padded})[0]
        if padded is not batch:
            scores = scores[:len(batch)]
        if scores.ndim != 2 or scores.shape[0] != len(batch):
            raise InferenceError(f"the model's output '{self.output_name}' has shape {list(scores.shape)} for "
                                 f"{len(batch)} image(s), not one score per class: is it an image classifier?")
        if scores.dtype != np.float32:
            scores = scores.astype(np.float32)
        broken = int((~np.isfinite(scores)).any(1).sum())
        if broken:
            raise InferenceError(f"the model gave not-a-number or infinite scores for {broken} of {len(batch)} "
                                 "image(s), so it has no prediction for them; the model is broken (a network "
                                 "whose training diverged?): export it again from a run that completed")
        self._check_labels(scores.shape[1])
        if self._are_logits(scores):
            scores = scores - scores.max(1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(1, keepdims=True)
        return scores

    def _are_logits(self, scores: np.ndarray) -> bool:
        if self.preprocessing.outputs != "auto":
            return self.preprocessing.outputs == "logits"
        return not (scores.min() >= 0 and np.allclose(scores.sum(1), 1.0, atol=1e-3))

    def predict(self, images: np.ndarray | Sequence[np.ndarray], topk: int = 5) -> list[Prediction]:
        """Top-``topk`` classes of each uint8 RGB/grey image, in batches the model accepts."""
        step = self.input.max_batch or max(len(images), 1)
        probabilities = [self.run(self.prepare(images[i:i + step])) for i in range(0, len(images), step)]
        return [self.top(p, topk) for p in np.concatenate(probabilities)] if probabilities else []

    def top(self, probabilities: np.ndarray, topk: int) -> Prediction:
        """The ``topk`` best classes of one image's probabilities; ties keep the class order."""
        values = probabilities.tolist()  # Python floats: at batch 1 numpy's per-call cost is the path's overhead
        order = sorted(range(len(values)), key=values.__getitem__, reverse=True)[:max(1, topk)]
        labels = self.labels
        return Prediction(tuple([(labels[i] if i < len(labels) else f"class {i}", values[i]) for i in order]))

    def top_batch(self, probabilities: np.ndarray, topk: int) -> list[Prediction]:
        """:meth:`top` for every row of a batch, sorted in one call."""
        k = min(max(1, topk), probabilities.shape[1])
        order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        values = np.take_along_axis(probabilities, order, axis=1).tolist()
        labels = self.labels
        names = [labels[i] if i < len(labels) else f"class {i}" for i in range(probabilities.shape[1])]
        return [Prediction(tuple(zip([names[i] for i in row], vs))) for row, vs in zip(order.tolist(), values)]

    def describe(self) -> str:
        """One line for the user: the input, the preprocessing source and the providers in use."""
        phrases = {METADATA: "from the model's cvstudio metadata", GUESSED: "guessed from the input: check it"}
        stated = [key for key, origin in self.sources.items() if origin not in phrases]
        base = next((phrases[origin] for origin in self.sources.values() if origin in phrases), None)
        if not stated:
            source = base
        elif base is None:
            source = f"from {self.sources[stated[0]]}"
        else:
            source = f"{', '.join(stated)} from {self.sources[stated[0]]}; the rest {base}"
        return (f"input '{self.input.name}' {list(self.input.shape)} {self.input.type}; "
                f"preprocessing {source}; "
                f"{len(self.labels) or 'no'} labels; running on {', '.join(self.providers)}")


def _image_input(session: Any) -> ModelInput:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise InferenceError(f"the model has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                             "cvstudio runs image classifiers that take one image batch")
    found = ModelInput(inputs[0].name, tuple(inputs[0].shape), inputs[0].type)
    if len(found.shape) != 4:
        raise InferenceError(
            f"the model's input '{found.name}' has shape {list(found.shape)}: not an image tensor; cvstudio needs "
            "4 dimensions, (batch, channels, height, width) or (batch, height, width, channels)"
        )
    if found.type not in INPUT_TYPES:
        raise InferenceError(f"the model's input '{found.name}' is {found.type}; cvstudio feeds "
                             f"{', '.join(INPUT_TYPES)} images only")
    return found

