"""ONNX Runtime sessions on the providers that really work, with options chosen on purpose.

A session is always given an explicit provider list, and what it reports it
*uses* (``get_providers()``) is what cvstudio shows: an onnxruntime-gpu build
lists CUDA even on a machine where CUDA cannot start, and then quietly runs on
the CPU. cvstudio says so instead.
"""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from cvstudio.core.threads import usable_cores

PROVIDER_CHOICES = ("auto", "cpu", "cuda", "tensorrt")
ORT_PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider",
}


class InferenceError(RuntimeError):
    """A model, provider, camera or video cannot be used; the message names the problem and the fix."""


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
    """All graph optimisations; ``threads`` (default: every usable core) inside an operator, one between them."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL  # a classifier is one chain of operators
    options.intra_op_num_threads = threads or usable_cores()
    options.inter_op_num_threads = 1
    # Idle threads sleep instead of spinning: a spinning pool stalls when decoding threads, a browser or a
    # video call take a core, and halves the session's speed on a busy machine.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def open_session(path: Path, provider: str = "auto", threads: int | None = None) -> tuple[Any, str | None]:
    """An ONNX Runtime session and, when the requested provider did not start, a notice saying so."""
    import onnxruntime as ort

    path = Path(path)
    if path.is_dir():
        raise InferenceError(f"'{path}' is a folder, not a model file; choose the .onnx file inside it")
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
