"""Reading image files as the user's viewer shows them: 16-bit, float and transparent images included."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")
READ_CHUNK = 16  # files per task of the reading pool: fewer hand-overs than one task per file


class UnreadableImage(ValueError):
    """A file could not be turned into an image; the message is the reason, for the user."""


def read_image(path: Path) -> np.ndarray:
    """The image at ``path`` as uint8 RGB (H, W, 3) or grey (H, W, 1)."""
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)  # with imdecode: non-ASCII paths work on Windows too
    except OSError as exc:
        raise UnreadableImage(f"cannot be read: {exc.strerror or exc}") from None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise UnreadableImage("not a readable image: the file is empty, corrupt or in an unsupported format")
    image = _to_uint8(image)
    if image.ndim == 2:
        return image[..., None]
    if image.shape[2] == 4:
        image = over_white(image)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """16-bit and float images scaled into 0..255, as other viewers show them."""
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        return (np.clip(np.nan_to_num(image), 0, 1) * 255).round().astype(np.uint8)
    raise UnreadableImage(f"unsupported pixel type {image.dtype}; save it as 8- or 16-bit")


def over_white(image: np.ndarray) -> np.ndarray:
    """Transparent pixels become white, as image viewers show them."""
    alpha = image[..., 3:].astype(np.float32) / 255
    return (image[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)


def read_many(paths: Sequence[Path], read: Callable[[Path], T], stage: str = "decoding",
              workers: int | None = None) -> list[T]:
    """``read(path)`` for every path, in order, on a thread per core (OpenCV decodes without the GIL).

    Progress goes to whoever listens through :func:`cvstudio.core.tasks.report_progress`.
    """
    from concurrent.futures import ThreadPoolExecutor

    from cvstudio.core.tasks import Progress, report_progress
    from cvstudio.core.threads import usable_cores

    chunks = [paths[i:i + READ_CHUNK] for i in range(0, len(paths), READ_CHUNK)]
    done: list[T] = []
    with ThreadPoolExecutor(max_workers=workers or usable_cores(), thread_name_prefix="cvstudio-read") as pool:
        for results in pool.map(lambda chunk: [read(path) for path in chunk], chunks):
            done.extend(results)
            report_progress(Progress("dataset", stage, len(done), len(paths)))
    return done
