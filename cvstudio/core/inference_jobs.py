"""The long inference jobs, as engine generators: a folder of images, a video or webcam, a latency race.

Like training, each takes a :class:`~cvstudio.core.tasks.TaskState` and
yields events, so the GUI runs them in a worker and the CLI drives them in a
loop, and both can cancel them.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generator, Iterable, Iterator, Sequence

import numpy as np

from cvstudio.core.image_files import CHEAP_READ_S, UnreadableImage, quiet_opencv, read_image, timed_reads
from cvstudio.core.inference import Prediction, Predictor
from cvstudio.core.sessions import InferenceError
from cvstudio.core.tasks import Cancelled, Progress, TaskState
from cvstudio.core.threads import usable_cores

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
NO_IMAGES = f"no image files in the given files and folders (looked for {', '.join(IMAGE_SUFFIXES)})"
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


def iter_images(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and the image files inside folders (recursively, sorted), found as they are needed.

    The order is that of sorting every folder's paths: each folder's entries by name, sub-folders in place.
    """
    return map(Path, _image_names(paths))


def _image_names(paths: Iterable[Path]) -> Iterator[str]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from _walk(str(path))
        elif path.exists():
            yield str(path)
        else:
            raise InferenceError(f"'{path}' does not exist; give image files or folders of images")


def _walk(folder: str) -> Iterator[str]:
    try:
        with os.scandir(folder) as entries:
            listed = sorted(entries, key=lambda entry: entry.name)
    except OSError:
        return  # an unreadable sub-folder holds nothing we can use
    for entry in listed:
        if entry.is_dir(follow_symlinks=False):  # a link to a folder could loop
            yield from _walk(entry.path)
        elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES:
            yield entry.path


def list_images(paths: Sequence[Path]) -> list[Path]:
    """Files as given, and the image files inside folders (recursively, sorted)."""
    return list(iter_images(paths))


def count_images(paths: Sequence[Path]) -> int:
    """How many files :func:`iter_images` will give, without keeping their paths."""
    return sum(1 for _ in _image_names(paths))


def predict_stream(
    predictor: Predictor, paths: Iterable[Path], state: TaskState, topk: int = 5, batch_size: int = FOLDER_BATCH,
    workers: int | None = None,
) -> Iterator[FileResult]:
    """Every file's result in the order given, the files read batch by batch as the model needs them.

    A folder of any size takes bounded memory, and ``paths`` may be a lazy iterator. The first batches
    are read on this thread, and timed with the model: threads read ahead of the model only where they
    pay. A thread per core reads files that take :data:`CHEAP_READ_S` of CPU or more each to decode
    (OpenCV and numpy release the GIL), from the second batch on; one thread reads cheaper files for a
    model slower than their reading, while it runs here in ONNX Runtime without the GIL, once two
    batches in a row say so (the model's first run pays for its warm-up). Otherwise reading stays here:
    threads beside the model would spend more time taking the GIL from each other than they save
    (32×32 PNGs decoded at 0.42 of the speed on two).
    Batches hold ``batch_size`` files for models with a dynamic batch dimension and the model's own batch
    size otherwise (a batch shortened by unreadable files is padded by :meth:`Predictor.run`). An
    unreadable file gets an error, not a crash.
    """
    workers = workers or usable_cores()
    step = predictor.input.max_batch or batch_size
    batches, streak = _chunks(paths, step), 0
    for files in batches:
        batch = _prepare_batch(predictor, files)
        state.check()
        started = time.perf_counter()
        scores = _scores(predictor, batch)
        readers = _readers_that_pay(batch, time.perf_counter() - started, workers)
        yield from _predicted(predictor, batch, scores, topk)
        streak = streak + 1 if readers else 0
        if readers > 1 or streak == 2:  # decoding's CPU time tells at once; a model's first run warms it up
            break
    else:
        return
    for batch in _prepared_ahead(predictor, batches, ahead=2 * readers, workers=readers):
        state.check()
        yield from _predicted(predictor, batch, _scores(predictor, batch), topk)


def _readers_that_pay(batch: _PreparedBatch, model_seconds: float, workers: int) -> int:
    """How many threads should read ahead of the model, judged from one batch read and scored here."""
    if workers == 1:
        return 0
    if batch.seconds_each >= CHEAP_READ_S:
        return workers
    return 1 if model_seconds > batch.seconds_each * len(batch.files) else 0


@dataclass(frozen=True)
class FilesClassified:
    """The results of the batch just done, in order: a view shows them while the rest of the folder goes on."""

    results: tuple[FileResult, ...]


def predict_files(
    predictor: Predictor, paths: Iterable[Path], state: TaskState, topk: int = 5, batch_size: int = FOLDER_BATCH,
    total: int | None = None,
) -> Generator[FilesClassified | Progress, None, list[FileResult]]:
    """:func:`predict_stream` as an engine job: each batch's results and the progress, every result at the end.

    Cancelled, it returns the results of the files done so far, in order: a long folder stopped halfway
    keeps what it classified. ``state.cancelled`` tells the caller that the list stops short.
    """
    if total is None:
        paths = list(paths)
        total = len(paths)
    if not total:
        raise InferenceError(f"{NO_IMAGES}; drop image files, or folders that hold some")
    step = predictor.input.max_batch or batch_size
    results: list[FileResult] = []
    shown = 0
    try:
        for result in predict_stream(predictor, paths, state, topk, batch_size):
            results.append(result)
            if len(results) - shown == step or len(results) == total:
                yield FilesClassified(tuple(results[shown:]))
                shown = len(results)
                yield Progress("inference", "images", shown, total)
    except Cancelled:
        pass
    return results


@dataclass(frozen=True)
class _PreparedBatch:
    """A batch of files: why each one has no model input (``None`` when it has one), and the inputs."""

    files: list[Path]
    errors: list[str | None]
    inputs: np.ndarray | None
    seconds_each: float  # CPU time to read one file (the first one left out: it warms the decoder up)


def _chunks(paths: Iterable[Path], step: int) -> Iterator[list[Path]]:
    source = iter(paths)
    while files := list(itertools.islice(source, step)):
        yield files


def _prepared_ahead(predictor: Predictor, batches: Iterator[list[Path]], ahead: int, workers: int
                    ) -> Iterator[_PreparedBatch]:
    """The batches prepared by ``workers`` threads, in order, at most ``ahead`` of them early."""
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cvstudio-decode") as pool:
        try:
            while True:
                pending.extend(pool.submit(_prepare_batch, predictor, files)
                               for files in itertools.islice(batches, ahead - len(pending)))
                if not pending:
                    return
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _prepare_batch(predictor: Predictor, files: list[Path]) -> _PreparedBatch:
    read_file = functools.partial(_read_or_reason, shrink_to=predictor.preprocessing.size)  # resized to it next
    read, seconds_each = timed_reads(files, read_file)
    images = [image for image, _ in read if image is not None]
    return _PreparedBatch(files, [error for _, error in read], predictor.prepare(images) if images else None,
                          seconds_each)


def _read_or_reason(path: Path, shrink_to: tuple[int, int] | None) -> tuple[np.ndarray | None, str | None]:
    try:
        return read_image(path, shrink_to=shrink_to), None
    except UnreadableImage as reason:  # the reason only: the result names its file
        return None, str(reason)


def _scores(predictor: Predictor, batch: _PreparedBatch) -> np.ndarray | None:
    return predictor.run(batch.inputs) if batch.inputs is not None else None


def _predicted(predictor: Predictor, batch: _PreparedBatch, scores: np.ndarray | None, topk: int
               ) -> Iterator[FileResult]:
    predictions = iter(predictor.top_batch(scores, topk) if scores is not None else ())
    for path, error in zip(batch.files, batch.errors):
        yield FileResult(path, None, error) if error is not None else FileResult(path, next(predictions))


class CsvWriter:
    """Predictions written row by row as they come, to a temporary file that replaces ``path`` when closed.

    A job that fails or is cancelled leaves no half-written table under the name the user gave.
    """

    def __init__(self, path: Path, topk: int) -> None:
        import csv

        self.path, self.topk = Path(path), topk
        self.temporary = self.path.with_name(f".{self.path.name}.tmp")
        self.stream = open(self.temporary, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.stream)
        self.writer.writerow(["path", *[f"{kind}{k}" for k in range(1, topk + 1) for kind in ("label", "probability")],
                              "error"])

    def write(self, result: FileResult) -> None:
        top = [v for label, p in (result.prediction.top if result.prediction else ()) for v in (label, f"{p:.6f}")]
        self.writer.writerow([str(result.path), *top, *[""] * (2 * self.topk - len(top)), result.error or ""])

    def __enter__(self) -> CsvWriter:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        self.stream.close()
        if kind is None:
            os.replace(self.temporary, self.path)
        else:
            self.temporary.unlink(missing_ok=True)


def write_csv(path: Path, results: Iterable[FileResult], topk: int) -> None:
    """One row per file: path, the top-k labels and probabilities, and the error if it had none."""
    with CsvWriter(path, topk) as table:
        for result in results:
            table.write(result)


def stream_video(
    predictor: Predictor, source: int | str | Path, state: TaskState, topk: int = 3
) -> Generator[LiveFrame, None, int]:
    """Predict every frame of a video file or a camera (an int index) until it ends or is cancelled.

    Returns the number of frames seen.
    """
    import cv2

    quiet_opencv()  # a camera that cannot be opened is an InferenceError below, not OpenCV's warning too
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
