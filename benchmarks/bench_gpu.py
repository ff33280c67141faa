"""GPU figures, on a machine with a CUDA GPU: ``python benchmarks/run.py --only gpu``.

- ``gpu_training``: per built-in model, the engine's training images/s on the CPU, on the GPU in float32
  and on the GPU with mixed precision (the shapes dataset at 32×32), and the ratios GPU / CPU and
  mixed / float32 with their spread;
- ``gpu_latency``: per built-in model exported as ``cvstudio export`` does, batch-1 and batch-64 latency of
  torch eager on the GPU and of ONNX Runtime's CUDA provider (ONNX Runtime / torch below 1: ONNX Runtime
  is faster), or why the provider cannot run;
- ``gpu_lesson``: the GPU-against-CPU lesson run as ``cvstudio run`` does: whether every row has its GPU
  column, and the speed-ups.

Without a CUDA GPU the group says so and measures nothing. Each figure is the median of ``pairs``
interleaved rounds (see :mod:`pairs`); the GPU is synchronised before every clock reading.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pairs import Ratio, interleaved

SIZE, LATENCY_BATCHES = 32, (1, 64)
LESSON = Path(__file__).parents[1] / "resources" / "lessons" / "gpu-vs-cpu.toml"


def gpu_ratios(pairs: int = 5, quick: bool = False, devices: tuple[str, ...] = ("cpu", "cuda")) -> dict[str, Any]:
    """Every GPU figure; ``devices`` other than the default serve a check of this script on a CPU."""
    import torch

    if "cuda" in devices and not torch.cuda.is_available():
        return {"gpu": "skipped: no CUDA GPU (torch.cuda.is_available() is false)"}
    from cvstudio.plugins import load_registry

    registry = load_registry(autoload=False)
    gpu = devices[-1]
    with tempfile.TemporaryDirectory() as tmp:
        return {"gpu_device": torch.cuda.get_device_name(0) if gpu == "cuda" else gpu,
                "gpu_training": training_rates(registry, pairs, quick, devices),
                "gpu_latency": latencies(registry, Path(tmp), pairs, gpu),
                "gpu_lesson": lesson_columns(Path(tmp) / "runs", gpu)}


def training_rates(registry, pairs: int, quick: bool, devices: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Per model: the engine's training images/s on each device (mixed precision too on CUDA), interleaved."""
    from cvstudio.core.data import stratified_split

    dataset = registry.get("datasets", "shapes").create(per_class=100 if quick else 600, image_size=SIZE)
    split = stratified_split(dataset.labels, 0.15, 0.15, seed=0)
    sides = [(device, False) for device in devices] + ([("cuda", True)] if "cuda" in devices else [])
    figures = {}
    for name, spec in registry.specs("models").items():
        runs = [lambda d=device, a=amp: _engine_rate(spec, dataset, split, d, a) for device, amp in sides]
        for run in runs:
            run()  # warm-up: kernels, cuDNN's algorithm search, the first allocations
        rounds = interleaved(runs, pairs)
        rates = {_side_name(device, amp): round(statistics.median(r[i] for r in rounds))
                 for i, (device, amp) in enumerate(sides)}
        figures[name] = {"images_per_s": rates}
        if "cuda" in devices:
            cpu, gpu, mixed = (devices.index("cpu"), devices.index("cuda"), len(sides) - 1)
            figures[name]["gpu_vs_cpu"] = Ratio(tuple(r[gpu] / r[cpu] for r in rounds)).to_json(2)
            figures[name]["mixed_vs_float32"] = Ratio(tuple(r[mixed] / r[gpu] for r in rounds)).to_json(2)
    return figures


def _side_name(device: str, amp: bool) -> str:
    return f"{device}_mixed" if amp else device


def _engine_rate(spec, dataset, split, device: str, amp: bool) -> float:
    from cvstudio.core.tasks import TaskState, drain
    from cvstudio.core.training import TrainConfig, train_model

    config = TrainConfig.from_params({"epochs": 2, "batch_size": 64, "device": device, "amp": amp})
    _, result = drain(train_model(spec, {}, dataset, split, config, TaskState()))
    return result.images_per_s


def latencies(registry, root: Path, pairs: int, gpu: str) -> dict[str, dict[str, Any]]:
    """Per model and batch size: torch eager and ONNX Runtime on the GPU, median milliseconds, interleaved."""
    import torch

    from cvstudio.core.export import to_onnx, with_softmax
    from cvstudio.core.inference_jobs import median_latency_ms
    from cvstudio.core.preprocessing import Preprocessing, config_path

    preprocessing = Preprocessing(size=(SIZE, SIZE), outputs="probabilities")
    device = torch.device(gpu)
    figures: dict[str, dict[str, Any]] = {}
    for name, spec in registry.specs("models").items():
        torch.manual_seed(0)
        model = spec.create(3, (SIZE, SIZE), 10).eval()
        path = root / f"{name}.onnx"
        proto, _ = to_onnx(model, preprocessing.apply(np.zeros((2, SIZE, SIZE, 3), np.uint8)))
        path.write_bytes(proto.SerializeToString())
        preprocessing.save(config_path(path))
        predictor, ort_on = _ort_predictor(path, gpu)
        eager = with_softmax(model).to(device)
        figures[name] = {"onnxruntime_provider": ort_on}
        for batch_size in LATENCY_BATCHES:
            images = np.random.default_rng(0).integers(0, 256, (batch_size, SIZE, SIZE, 3), dtype=np.uint8)
            batch = preprocessing.apply(images)
            tensor = torch.from_numpy(batch).to(device)

            def torch_ms() -> float:
                with torch.inference_mode():
                    return median_latency_ms(_synchronised(lambda: eager(tensor), device), repeats=50)

            sides = [torch_ms] + ([lambda: median_latency_ms(lambda: predictor.run(batch), repeats=50)]
                                  if predictor is not None else [])
            rounds = interleaved(sides, pairs)
            row: dict[str, Any] = {"torch_ms": round(statistics.median(r[0] for r in rounds), 3)}
            if predictor is not None:
                row["onnxruntime_ms"] = round(statistics.median(r[1] for r in rounds), 3)
                row["onnxruntime_vs_torch"] = Ratio(tuple(r[1] / r[0] for r in rounds)).to_json(2)
            figures[name][f"batch_{batch_size}"] = row
    return figures


def _ort_predictor(path: Path, gpu: str) -> tuple[Any, str]:
    """An ONNX Runtime session on the GPU and the provider it runs on, or None and why there is none."""
    import onnxruntime as ort

    from cvstudio.core.inference import Predictor
    from cvstudio.core.sessions import ORT_PROVIDERS, InferenceError

    wanted = ORT_PROVIDERS["cuda" if gpu == "cuda" else "cpu"]
    try:
        predictor = Predictor(path, "cuda" if gpu == "cuda" else "cpu")
    except InferenceError as error:
        return None, f"not measured: {error}"
    if predictor.providers[0] != wanted:
        return None, (f"not measured: this ONNX Runtime ({ort.__version__}) has no {wanted}; it offers "
                      f"{', '.join(ort.get_available_providers())}")
    return predictor, wanted


def _synchronised(operation: Callable[[], Any], device: Any) -> Callable[[], Any]:
    import torch

    if device.type != "cuda":
        return operation

    def run() -> Any:
        result = operation()
        torch.cuda.synchronize(device)
        return result

    return run


def lesson_columns(runs: Path, gpu: str) -> dict[str, Any]:
    """The GPU-against-CPU lesson run as a user would: are the GPU column and the speed-ups filled?"""
    from cvstudio.cli import main as cli

    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = cli(["run", str(LESSON), "--out", str(runs)])
    summaries = sorted(runs.rglob("summary.json"), key=os.path.getmtime)
    if code != 0 or not summaries:
        return {"exit_code": code, "output": output.getvalue()[-2000:]}
    summary = json.loads(summaries[-1].read_text())
    rows = summary.get("rows", [])
    return {"exit_code": code, "devices": summary.get("devices"),
            "gpu_column_filled": bool(rows) and all(row.get("gpu_ms") is not None for row in rows),
            "rows": [{key: row.get(key) for key in ("operation", "cpu_ms", "gpu_ms", "speedup")} for row in rows],
            "note": summary.get("note", "")}


if __name__ == "__main__":
    started = time.time()
    figures = gpu_ratios(int(os.environ.get("BENCH_PAIRS", "3")), quick=bool(os.environ.get("BENCH_QUICK")))
    print(json.dumps({**figures, "seconds": round(time.time() - started)}))
