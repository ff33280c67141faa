"""ONNX Runtime inference: sessions on the providers that really work, and a top-k image classifier.

A session is always given an explicit provider list, and what it reports it
*uses* (``get_providers()``) is what cvstudio shows: an onnxruntime-gpu build
lists CUDA even on a machine where CUDA cannot start, and then quietly runs on
the CPU. :class:`Predictor` turns images into the model's input (see
:mod:`cvstudio.core.preprocessing`) and scores into top-k class names.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from cvstudio.core.export import METADATA_KEY
from cvstudio.core.preprocessing import Preprocessing, config_path, labels_path, read_labels

PROVIDER_CHOICES = ("auto", "cpu", "cuda", "tensorrt")
ORT_PROVIDERS = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}
INPUT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
               "tensor(uint8)": np.uint8}


class InferenceError(RuntimeError):
    """A model, provider, camera or video cannot be used; the message names the problem and the fix."""


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


def usable_providers() -> list[str]:
    """The provider choices that start a session on this machine (``cpu`` always), for pickers."""
    return ["cpu", *[c for c in ("cuda", "tensorrt") if _provider_starts(ORT_PROVIDERS[c])]]


@lru_cache(maxsize=None)
def _provider_starts(provider: str) -> bool:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    if provider not in ort.get_available_providers():
        return False
    value = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "probe", [value],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    with _quiet_onnxruntime():
        try:
            session = ort.InferenceSession(model.SerializeToString(), providers=[provider, ORT_PROVIDERS["cpu"]])
        except Exception:  # noqa: BLE001 - a provider that cannot start is simply not usable
            return False
    return provider in session.get_providers()


def provider_list(choice: str) -> list[Any]:
    """The explicit ONNX Runtime provider list for a choice, best first, always ending with the CPU."""
    import onnxruntime as ort

    if choice not in PROVIDER_CHOICES:
        raise InferenceError(f"unknown provider '{choice}'; choose one of {', '.join(PROVIDER_CHOICES)}")
    wanted = {"auto": ("tensorrt", "cuda"), "cpu": (), "cuda": ("cuda",), "tensorrt": ("tensorrt", "cuda")}[choice]
    available = ort.get_available_providers()
    names = [ORT_PROVIDERS[c] for c in wanted if ORT_PROVIDERS[c] in available]
    if choice == "auto":
        names = [name for name in names if _provider_starts(name)]
    providers: list[Any] = [(n, _tensorrt_options()) if n == ORT_PROVIDERS["tensorrt"] else n for n in names]
    return [*providers, ORT_PROVIDERS["cpu"]]


def _tensorrt_options() -> dict[str, Any]:
    """TensorRT compiles an engine per model on first use; caching it makes later sessions start fast."""
    import platformdirs

    cache = Path(platformdirs.user_cache_dir("cvstudio")) / "tensorrt"
    return {"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache)}


def session_options(threads: int | None = None) -> Any:
    """All graph optimisations; ``threads`` (default: every core) inside an operator, one between them."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL  # a classifier is one chain of operators
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


def open_session(path: Path, provider: str = "auto", threads: int | None = None) -> tuple[Any, str | None]:
    """An ONNX Runtime session and, when the requested provider did not start, a notice saying so."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise InferenceError(f"model file '{path}' does not exist; choose an .onnx file, or export a run "
                             "with `cvstudio export RUN_DIR`")
    providers = provider_list(provider)
    with _quiet_onnxruntime():
        try:
            session = ort.InferenceSession(str(path), session_options(threads), providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises untyped pybind errors for bad files
            reason = str(exc).strip().splitlines()[0][:200]
            raise InferenceError(
                f"'{path.name}' is not a valid ONNX model ({reason}); the file may be truncated by an interrupted "
                "copy or download, or not be an ONNX file at all: export or download it again"
            ) from None
    used = session.get_providers()
    wanted = ORT_PROVIDERS.get(provider)
    if provider in ("cuda", "tensorrt") and wanted not in used:
        why = ("this onnxruntime build has no such provider: install onnxruntime-gpu"
               if wanted not in ort.get_available_providers()
               else "it failed to start: no usable GPU, or its CUDA/cuDNN/TensorRT libraries are missing")
        return session, f"{provider.upper()} was requested but {why}; running on {', '.join(used)} instead"
    return session, None


@contextlib.contextmanager
def _quiet_onnxruntime() -> Iterator[None]:
    """Silence ORT's own provider-failure logging and prints: cvstudio reports the outcome itself."""
    import onnxruntime as ort

    ort.set_default_logger_severity(4)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        ort.set_default_logger_severity(2)


class Predictor:
    """An ONNX image classifier ready to score images: session, preprocessing, labels.

    Preprocessing comes from, in order: ``preprocessing``, cvstudio's
    metadata in the model, a saved ``<model>.preprocess.json``, a guess from
    the input's shape and type (:attr:`config_source` says which).
    """

    def __init__(self, path: Path, provider: str = "auto", preprocessing: Preprocessing | None = None,
                 labels: Sequence[str] | Path | None = None, threads: int | None = None) -> None:
        self.path = Path(path)
        self.session, self.notice = open_session(self.path, provider, threads)
        self.input = _image_input(self.session)
        props = self.session.get_modelmeta().custom_metadata_map
        self.metadata: dict[str, Any] | None = json.loads(props[METADATA_KEY]) if METADATA_KEY in props else None
        self.preprocessing, self.config_source = self._preprocessing(preprocessing)
        self.labels = self._labels(labels)
        self.output_name = self.session.get_outputs()[0].name

    @property
    def providers(self) -> list[str]:
        """What the session actually runs on, best first."""
        return self.session.get_providers()

    def _preprocessing(self, given: Preprocessing | None) -> tuple[Preprocessing, str]:
        if given is not None:
            chosen, source = given, "given"
        elif self.metadata is not None:
            chosen, source = Preprocessing.from_dict(self.metadata["preprocessing"], "the model's metadata"), "metadata"
        elif config_path(self.path).is_file():
            chosen, source = Preprocessing.load(config_path(self.path)), "file"
        else:
            layout = self.input.guess_layout()
            channels = self.input.channels(layout)
            chosen = Preprocessing(color="grayscale" if channels == 1 else "rgb", layout=layout,
                                   scale="0-255" if self.input.dtype == np.uint8 else "0-1")
            source = "guess"
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
        return chosen, source

    def _labels(self, labels: Sequence[str] | Path | None) -> list[str]:
        if isinstance(labels, (str, Path)):
            return read_labels(Path(labels))
        if labels is not None:
            return list(labels)
        if self.metadata is not None:
            return list(self.metadata["class_names"])
        return read_labels(labels_path(self.path)) if labels_path(self.path).is_file() else []

    def save_preprocessing(self, preprocessing: Preprocessing) -> Path:
        """Keep an edited config next to the model, where the next session finds it."""
        path = config_path(self.path)
        preprocessing.save(path)
        self.preprocessing, _ = self._preprocessing(preprocessing)
        self.config_source = "file"
        return path

    def prepare(self, images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        return self.preprocessing.apply(images, self.input.dtype)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities (N, classes) for a prepared batch; a softmax is applied to logits."""
        scores = np.asarray(self.session.run([self.output_name], {self.input.name: batch})[0], np.float32)
        if scores.ndim != 2 or scores.shape[0] != len(batch):
            raise InferenceError(f"the model's output '{self.output_name}' has shape {list(scores.shape)} for "
                                 f"{len(batch)} image(s), not one score per class: is it an image classifier?")
        if self._are_logits(scores):  # in place: at batch 1 these few microseconds are the path's overhead
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
        order = np.argsort(-probabilities, kind="stable")[:max(1, topk)].tolist()
        return Prediction(tuple((self.label_of(i), float(probabilities[i])) for i in order))

    def label_of(self, index: int) -> str:
        return self.labels[index] if index < len(self.labels) else f"class {index}"

    def describe(self) -> str:
        """One line for the user: the input, the preprocessing source and the providers in use."""
        source = {"metadata": "from the model's cvstudio metadata", "file": f"from {config_path(self.path).name}",
                  "guess": "guessed from the input: check it", "given": "as given"}[self.config_source]
        return (f"input '{self.input.name}' {list(self.input.shape)} {self.input.type}; preprocessing {source}; "
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

