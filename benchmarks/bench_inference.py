"""Deployment ratios: ONNX Runtime against torch, cvstudio's inference path against a bare session.

- ``ort_vs_torch_latency``: batch-1 latency of ONNX Runtime (CPU) / torch eager (CPU), one thread each,
  per built-in model, on 32×32 RGB inputs (below 1: ONNX Runtime is faster).
- ``predict_overhead``: ``Predictor.run`` + top-5 on a preprocessed image / a bare ``session.run`` on the
  same input, per built-in model exported as ``cvstudio export`` does (softmax in the graph); target: at
  most 1.10.
- ``folder_throughput``: images/s of ``cvstudio predict`` over a folder of 1,000 PNG files (decoding,
  preprocessing, printing included) / images/s of a bare session on the same images already decoded and
  preprocessed, both in batches of 32.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from cvstudio.cli import main as cli
from cvstudio.core.experiment import parse_experiment, run_experiment
from cvstudio.core.export import export_run, to_onnx, with_softmax
from cvstudio.core.inference import Predictor
from cvstudio.core.inference_jobs import median_latency_ms
from cvstudio.core.preprocessing import Preprocessing
from cvstudio.core.runs import RunStore
from cvstudio.core.tasks import TaskState, drain
from cvstudio.plugins import load_registry

SIZE, CLASSES, FOLDER_IMAGES, BATCH = 32, 10, 1000, 32


def model_ratios(registry, root: Path, rounds: int = 3) -> dict[str, dict[str, float]]:
    """Per built-in model (random weights: latency does not depend on training), best of ``rounds``
    interleaved medians, so that every path sees the same drift of a shared machine.

    torch and ONNX Runtime both get one thread: the same resources for each, and OpenMP's spinning
    threads do not collapse when other processes share the cores.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _model_ratios(registry, root, rounds)
    finally:
        torch.set_num_threads(threads)


def _model_ratios(registry, root: Path, rounds: int) -> dict[str, dict[str, float]]:
    ort_vs_torch, overhead = {}, {}
    image = np.random.default_rng(0).integers(0, 256, (1, SIZE, SIZE, 3), dtype=np.uint8)
    exported = Preprocessing(size=(SIZE, SIZE), outputs="probabilities")  # what an export's metadata says
    for name, spec in registry.specs("models").items():
        torch.manual_seed(0)
        model = spec.create(3, (SIZE, SIZE), CLASSES).eval()
        predictor = _exported(model, exported, root / f"{name}.onnx")
        batch = predictor.prepare(image)
        tensor, feed, eager_model = torch.from_numpy(batch), {predictor.input.name: batch}, with_softmax(model)
        eager, raw, path = [], [], []
        for _ in range(rounds):
            with torch.inference_mode():
                eager.append(median_latency_ms(lambda: eager_model(tensor), repeats=30))
            raw.append(median_latency_ms(lambda: predictor.session.run(None, feed), repeats=100))
            path.append(median_latency_ms(lambda: predictor.top(predictor.run(batch)[0], 5), repeats=100))
        ort_vs_torch[name] = round(min(raw) / min(eager), 3)
        overhead[name] = round(min(path) / min(raw), 3)
    return {"ort_vs_torch_latency": ort_vs_torch, "predict_overhead": overhead}


def _exported(model, preprocessing: Preprocessing, path: Path) -> Predictor:
    example = preprocessing.apply(np.zeros((2, SIZE, SIZE, 3), np.uint8))
    proto, _ = to_onnx(model, example)
    path.write_bytes(proto.SerializeToString())
    return Predictor(path, "cpu", preprocessing, threads=1)


def trained_export(registry, root: Path) -> Path:
    """The default lesson's LeNet-5, trained for one epoch on the shapes, exported."""
    experiment = parse_experiment({
        "title": "bench", "dataset": {"name": "shapes", "params": {"per_class": 100, "image_size": SIZE}},
        "deep": [{"model": "lenet5", "epochs": 1, "device": "cpu"}],
    }, registry)
    run = RunStore(root).create("bench")
    drain(run_experiment(experiment, registry, run, TaskState()))
    return export_run(run.path, registry).path


def folder_throughput(model: Path, root: Path) -> float:
    folder = root / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(FOLDER_IMAGES):
        cv2.imwrite(str(folder / f"{i:04d}.png"), rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert cli(["predict", str(model), str(folder), "--provider", "cpu", "--batch-size", str(BATCH)]) == 0
    cli_rate = FOLDER_IMAGES / (time.perf_counter() - start)

    predictor = Predictor(model, "cpu")
    images = [cv2.imread(str(p))[..., ::-1] for p in sorted(folder.iterdir())]
    batches = [predictor.prepare(images[i:i + BATCH]) for i in range(0, len(images), BATCH)]
    session, name = predictor.session, predictor.input.name
    start = time.perf_counter()
    for batch in batches:
        session.run(None, {name: batch})
    raw_rate = FOLDER_IMAGES / (time.perf_counter() - start)
    return cli_rate / raw_rate


def inference_ratios() -> dict[str, object]:
    registry = load_registry(autoload=False)
    with tempfile.TemporaryDirectory() as tmp:
        ratios = model_ratios(registry, Path(tmp))
        model = trained_export(registry, Path(tmp) / "runs")
        return {**ratios, "folder_throughput": round(folder_throughput(model, Path(tmp)), 3)}


if __name__ == "__main__":
    print(json.dumps(inference_ratios()))
