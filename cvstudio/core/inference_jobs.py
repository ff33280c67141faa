"""The long inference jobs, as engine generators: a folder of images, a video or webcam, a latency race.

Like training, each takes a :class:`~cvstudio.core.tasks.TaskState` and
yields events, so the GUI runs them in a worker and the CLI drives them in a
loop, and both can cancel them.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generator, Sequence

import numpy as np

from cvstudio.core.inference import Prediction, Predictor
from cvstudio.core.sessions import InferenceError
from cvstudio.core.preprocessing import PreprocessingError, read_image
from cvstudio.core.tasks import Progress, TaskState

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
FOLDER_BATCH = 32


@dataclass(frozen=True)
class FileResult:
    """One image file's prediction, or why it has none."""

    path: Path
    prediction: Prediction | None
    error: str | None = None


@dataclass(frozen=True)
class LiveFrame:
    """A video frame (uint8 RGB), its prediction, the model's latency for it and the stream's rate."""

    index: int
    image: np.ndarray
    prediction: Prediction
    latency_ms: float
    fps: float


def list_images(paths: Sequence[Path]) -> list[Path]:
    """Files as given, and the image files inside folders (recursively, sorted)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        elif path.exists():
            found.append(path)
        else:
            raise InferenceError(f"'{path}' does not exist; give image files or folders of images")
    return found


def predict_files(
    predictor: Predictor, paths: Sequence[Path], state: TaskState, topk: int = 5, batch_size: int = FOLDER_BATCH
) -> Generator[Progress, None, list[FileResult]]:
    """Predict every file in batches (decoded in parallel); unreadable files get an error, not a crash."""
    results: list[FileResult] = []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # cv2 decodes without the GIL
        for start in range(0, len(paths), batch_size):
            state.check()
            chunk = list(paths[start:start + batch_size])
            decoded = list(pool.map(_decode_or_reason, chunk))
            predictions = iter(predictor.predict([d for d in decoded if not isinstance(d, str)], topk))
            results.extend(FileResult(p, None, d) if isinstance(d, str) else FileResult(p, next(predictions))
                           for p, d in zip(chunk, decoded))
            yield Progress("inference", "images", len(results), len(paths))
    return results


def write_csv(path: Path, results: Sequence[FileResult], topk: int) -> None:
    """One row per file: path, the top-k labels and probabilities, and the error if it had none."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", *[f"{kind}{k}" for k in range(1, topk + 1) for kind in ("label", "probability")],
                         "error"])
        for result in results:
            top = [v for label, p in (result.prediction.top if result.prediction else ()) for v in (label, f"{p:.6f}")]
            writer.writerow([str(result.path), *top, *[""] * (2 * topk - len(top)), result.error or ""])


def _decode_or_reason(path: Path) -> np.ndarray | str:
    try:
        return read_image(path)
    except PreprocessingError as exc:
        return str(exc)


def stream_video(
    predictor: Predictor, source: int | str | Path, state: TaskState, topk: int = 3
) -> Generator[LiveFrame, None, int]:
    """Predict every frame of a video file or a camera (an int index) until it ends or is cancelled.

    Returns the number of frames seen.
    """
    import cv2

    capture = cv2.VideoCapture(source if isinstance(source, int) else str(source))
    try:
        if not capture.isOpened():
            raise InferenceError(_cannot_open(source))
        frames, started, fps = 0, time.perf_counter(), 0.0
        while not state.cancelled:
            ok, bgr = capture.read()
            if not ok:
                if frames == 0:
                    raise InferenceError(_no_frames(source))
                break
            image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            tick = time.perf_counter()
            (prediction,) = predictor.predict([image], topk)
            latency = time.perf_counter() - tick
            frames += 1
            elapsed = time.perf_counter() - started
            fps = frames / elapsed if elapsed > 0 else 0.0
            yield LiveFrame(frames, image, prediction, latency * 1000, fps)
        return frames
    finally:
        capture.release()


def _cannot_open(source: int | str | Path) -> str:
    if isinstance(source, int):
        return (f"camera {source} cannot be opened: there is no camera with that number, or another application "
                "is using it; close the other application or choose another camera number (0 is the first)")
    return f"video '{source}' cannot be opened: the file is missing or in a format OpenCV cannot decode"


def _no_frames(source: int | str | Path) -> str:
    if isinstance(source, int):
        return (f"camera {source} opened but sends no frames: another application is probably using it; "
                "close it and try again")
    return f"video '{source}' has no readable frames: it is empty or damaged"


def median_latency_ms(function: Callable[[], Any], repeats: int = 50, warmup: int = 5) -> float:
    """Median wall time of ``function()`` in milliseconds, after a warm-up."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000


@dataclass(frozen=True)
class LatencyComparison:
    torch_ms: float
    onnxruntime_ms: float
    providers: tuple[str, ...]

    @property
    def ratio(self) -> float:
        """ONNX Runtime latency / torch latency: below 1, ONNX Runtime is faster."""
        return self.onnxruntime_ms / self.torch_ms


def compare_with_torch(predictor: Predictor, registry: Any, repeats: int = 50) -> LatencyComparison:
    """Batch-1 latency of the run's torch model (eager, CPU) and of the ONNX session, on the same input."""
    import torch

    from cvstudio.core.export import load_trained_model, with_softmax

    if predictor.metadata is None:
        raise InferenceError("this model was not exported by cvstudio, so there is no torch model to compare "
                             "it with; export a run's network with `cvstudio export RUN_DIR`")
    run_dir = Path(predictor.metadata["run"])
    if not run_dir.is_dir():
        raise InferenceError(f"the run this model came from ({run_dir}) is gone, so torch cannot be timed")
    trained = load_trained_model(run_dir, registry, predictor.metadata["pipeline"])
    h, w = predictor.preprocessing.size
    image = np.random.default_rng(0).integers(0, 256, (1, h, w, predictor.preprocessing.channels), dtype=np.uint8)
    batch = predictor.prepare(image)
    tensor, model = torch.from_numpy(batch), with_softmax(trained.model)  # what the export computes
    with torch.inference_mode():
        torch_ms = median_latency_ms(lambda: model(tensor), repeats)
    onnx_ms = median_latency_ms(lambda: predictor.run(batch), repeats)
    return LatencyComparison(torch_ms, onnx_ms, tuple(predictor.providers))
