"""Deployment ratios: ONNX Runtime against torch, cvstudio's inference path against a bare session.

- ``ort_vs_torch_latency``: batch-1 latency of ONNX Runtime (CPU) / torch eager (CPU), one thread each,
  per built-in model, on 32×32 RGB inputs (below 1: ONNX Runtime is faster).
- ``predict_overhead``: ``Predictor.run`` + top-5 on a preprocessed image / a bare ``session.run`` on the
  same input, per built-in model exported as ``cvstudio export`` does (softmax in the graph); target: at
  most 1.10.
- ``folder_throughput``: per built-in model, images/s of ``cvstudio predict`` over a folder of PNG files
  (listing, decoding, preprocessing and printing included) / images/s of a bare session of the same file
  on the same images already decoded and preprocessed, both in batches of 32; goal: at least 0.6.
- ``folder_vs_ceiling``: the same ``cvstudio predict`` images/s / the rate of its slower stage, the lower of
  decoding the files alone as cvstudio does and the bare session: no pipeline of the two can go
  faster than its slower stage; goal: at least 0.8.
- ``folder_vs_shared_cores``: the same images/s / the rate of doing both stages on the same cores, one
  after the other (``1 / (1/decode + 1/session)``): both stages use every core, so on a machine where
  neither has cores of its own this is the ceiling the pipeline can reach; 1 means no time is lost
  around the two stages.
- ``decode_vs_bare_loop``: images/s of decoding the same PNG files alone as cvstudio does (a thread per
  core, each reading a chunk of files, or one thread for files that take less than
  :data:`~cvstudio.core.image_files.CHEAP_READ_S` of CPU each to decode, as these 32×32 PNGs do) / images/s of a bare
  single-threaded ``cv2.imread`` loop: what is left after cvstudio's checks (header size, alpha, 16-bit,
  RGB order) and, for larger files, the parallel speed-up; at best the number of free cores.
- ``photo_folder_vs_bare_loop``: images/s of ``cvstudio predict`` over a folder of 1280×960 JPEG photographs
  for the MLP (32×32 input: the model costs next to nothing, the images everything) / images/s of the loop
  a user would write: ``cv2.imread``, ``cv2.resize`` (area), RGB order, then the same session in batches
  of 32. cvstudio decodes each JPEG at the smallest size still twice the model's and reads on a thread
  per core; the loop decodes whole photographs on one.

Every figure is the median of interleaved pairs (see :mod:`pairs`).
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

import cv2
import numpy as np
import torch

from cvstudio.cli import main as cli
from cvstudio.core.export import to_onnx, with_softmax
from cvstudio.core.image_files import read_image, read_many
from cvstudio.core.inference import Predictor
from cvstudio.core.inference_jobs import median_latency_ms
from cvstudio.core.preprocessing import Preprocessing, config_path
from cvstudio.core.threads import usable_cores
from cvstudio.plugins import load_registry
from pairs import Ratio, interleaved
from photos import write_photos

SIZE, CLASSES, BATCH = 32, 10, 32
EXPORTED = Preprocessing(size=(SIZE, SIZE), outputs="probabilities")  # what an export's metadata says


def model_ratios(registry, root: Path, pairs: int) -> dict[str, dict[str, dict]]:
    """Per built-in model (random weights: latency does not depend on training), ``pairs`` interleaved rounds
    of medians, so that every path sees the same drift of a shared machine.

    torch and ONNX Runtime both get one thread: the same resources for each.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _model_ratios(registry, root, pairs)
    finally:
        torch.set_num_threads(threads)


def _model_ratios(registry, root: Path, pairs: int) -> dict[str, dict[str, dict]]:
    ort_vs_torch, overhead = {}, {}
    image = np.random.default_rng(0).integers(0, 256, (1, SIZE, SIZE, 3), dtype=np.uint8)
    for name, model in _models(registry):
        predictor = _exported(model, root / f"{name}.onnx", threads=1)
        batch = predictor.prepare(image)
        tensor, feed, eager_model = torch.from_numpy(batch), {predictor.input.name: batch}, with_softmax(model)

        def eager() -> float:
            with torch.inference_mode():
                return median_latency_ms(lambda: eager_model(tensor), repeats=30)

        rounds = interleaved([eager, lambda: median_latency_ms(lambda: predictor.session.run(None, feed), repeats=100),
                              lambda: median_latency_ms(lambda: predictor.top(predictor.run(batch)[0], 5), repeats=100)],
                             pairs)
        ort_vs_torch[name] = Ratio(tuple(raw / torch_ms for torch_ms, raw, _ in rounds)).to_json()
        overhead[name] = Ratio(tuple(path / raw for _, raw, path in rounds)).to_json()
    return {"ort_vs_torch_latency": ort_vs_torch, "predict_overhead": overhead}


def _models(registry):
    for name, spec in registry.specs("models").items():
        torch.manual_seed(0)
        yield name, spec.create(3, (SIZE, SIZE), CLASSES).eval()


def _exported(model, path: Path, threads: int | None = None) -> Predictor:
    """The model exported as ``cvstudio export`` does, its preprocessing saved beside it as a user would."""
    proto, _ = to_onnx(model, EXPORTED.apply(np.zeros((2, SIZE, SIZE, 3), np.uint8)))
    path.write_bytes(proto.SerializeToString())
    EXPORTED.save(config_path(path))
    return Predictor(path, "cpu", threads=threads)


def write_folder(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:05d}.png"), rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    return sorted(folder.iterdir())


def folder_ratios(registry, root: Path, images: int, pairs: int) -> dict[str, dict[str, dict]]:
    """``folder_throughput`` and ``folder_vs_ceiling`` per built-in model, on one folder of PNGs."""
    folder = root / "images"
    paths = write_folder(folder, images)
    decoded = [read_image(p) for p in paths]
    throughput, ceiling, shared, rates = {}, {}, {}, {}
    for name, model in _models(registry):
        path = root / f"{name}-folder.onnx"
        predictor = _exported(model, path)
        batches = [predictor.prepare(decoded[i:i + BATCH]) for i in range(0, len(decoded), BATCH)]

        def cli_rate() -> float:
            return predict_rate(path, folder, images)

        def session_rate() -> float:
            session, feed = predictor.session, predictor.input.name
            start = time.perf_counter()
            for batch in batches:
                session.run(None, {feed: batch})
            return images / (time.perf_counter() - start)

        cli_rate()  # warm-up: first-call allocations, the file cache
        rounds = interleaved([cli_rate, session_rate, lambda: decode_rate(paths)], pairs)
        throughput[name] = Ratio(tuple(ours / bare for ours, bare, _ in rounds)).to_json()
        ceiling[name] = Ratio(tuple(ours / min(bare, decode) for ours, bare, decode in rounds)).to_json()
        shared[name] = Ratio(tuple(ours * (1 / bare + 1 / decode) for ours, bare, decode in rounds)).to_json()
        rates[name] = {side: round(statistics.median(r[i] for r in rounds))
                       for i, side in enumerate(("predict", "session", "decode"))}
    return {"folder_throughput": throughput, "folder_vs_ceiling": ceiling, "folder_vs_shared_cores": shared,
            "folder_images_per_s": rates}


def predict_rate(model: Path, folder: Path, images: int) -> float:
    """Images/s of ``cvstudio predict`` over ``folder``, its output kept off the terminal."""
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert cli(["predict", str(model), str(folder), "--provider", "cpu", "--batch-size", str(BATCH)]) == 0
    return images / (time.perf_counter() - start)


def decode_rate(paths: list[Path]) -> float:
    """Images/s of decoding the files alone as cvstudio does (:func:`read_many`)."""
    start = time.perf_counter()
    read_many(paths, read_image)
    return len(paths) / (time.perf_counter() - start)


def bare_imread_rate(paths: list[Path]) -> float:
    """Images/s of a bare single-threaded ``cv2.imread`` loop over the files."""
    start = time.perf_counter()
    for path in paths:
        cv2.imread(str(path))
    return len(paths) / (time.perf_counter() - start)


def decode_ratios(root: Path, pairs: int) -> dict[str, object]:
    """``decode_vs_bare_loop``: cvstudio's parallel decoding / a bare serial loop, on the folder of PNGs."""
    paths = sorted((root / "images").iterdir()) * 3  # long enough to stand out from a busy machine's jitter
    bare_imread_rate(paths)  # warm-up: OpenCV's first calls
    rounds = interleaved([lambda: decode_rate(paths), lambda: bare_imread_rate(paths)], pairs)
    return {"decode_vs_bare_loop": Ratio(tuple(ours / bare for ours, bare in rounds)).to_json(),
            "decode_images_per_s": {"cores": usable_cores(), "decode": round(statistics.median(r[0] for r in rounds)),
                                    "bare_loop": round(statistics.median(r[1] for r in rounds))}}


def photo_ratios(registry, root: Path, photos: int, pairs: int) -> dict[str, object]:
    """``photo_folder_vs_bare_loop``: the MLP over a folder of JPEG photographs, cvstudio against a bare loop."""
    folder = root / "photos"
    paths = write_photos(folder, photos)
    name, model = next((name, model) for name, model in _models(registry) if name == "mlp")
    path = root / f"{name}-photos.onnx"
    predictor = _exported(model, path)
    session, feed = predictor.session, predictor.input.name

    def cli_rate() -> float:
        return predict_rate(path, folder, photos)

    def bare_rate() -> float:
        start = time.perf_counter()
        for i in range(0, photos, BATCH):
            images = [cv2.cvtColor(cv2.resize(cv2.imread(str(p)), (SIZE, SIZE), interpolation=cv2.INTER_AREA),
                                   cv2.COLOR_BGR2RGB) for p in paths[i:i + BATCH]]
            session.run(None, {feed: EXPORTED.apply(images)})
        return photos / (time.perf_counter() - start)

    cli_rate()  # warm-up: the file cache
    rounds = interleaved([cli_rate, bare_rate], pairs)
    return {"photo_folder_vs_bare_loop": Ratio(tuple(ours / bare for ours, bare in rounds)).to_json(),
            "photo_folder_images_per_s": {"model": name, "photos": photos, "size": "1280×960",
                                          "predict": round(statistics.median(r[0] for r in rounds)),
                                          "bare_loop": round(statistics.median(r[1] for r in rounds))}}


def inference_ratios(pairs: int = 5, quick: bool = False) -> dict[str, object]:
    registry = load_registry(autoload=False)
    with tempfile.TemporaryDirectory() as tmp:
        images, photos = (300, 32) if quick else (1000, 96)
        return {**model_ratios(registry, Path(tmp), pairs), **folder_ratios(registry, Path(tmp), images, pairs),
                **decode_ratios(Path(tmp), pairs), **photo_ratios(registry, Path(tmp), photos, pairs)}


if __name__ == "__main__":
    print(json.dumps(inference_ratios(int(os.environ.get("BENCH_PAIRS", "3")), quick=True)))
