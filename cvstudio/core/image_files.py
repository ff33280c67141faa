"""Reading image files as the user's viewer shows them: 16-bit, float and transparent images included."""

from __future__ import annotations

import functools
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import numpy as np

T = TypeVar("T")
READ_CHUNK = 16  # files per task of the reading pool: fewer hand-overs than one task per file
# Files that take less CPU time than this each go faster on one thread than on a thread per core: the
# threads spend more time handing Python's GIL to each other than decoding. PNGs on 2 cores, CPU time
# per file → a pool of 2 against one thread: 20 µs → 0.42, 29 µs → 0.67, 43 µs → 0.83, 52 µs → 1.15,
# 88 µs → 1.39.
CHEAP_READ_S = 50e-6
# Larger images are refused from their header: decoding one takes gigabytes (OpenCV itself stops at 1 gigapixel).
MAX_PIXELS = 250_000_000
HEADER_BYTES = 64 * 1024  # enough to reach a JPEG's frame header past its EXIF thumbnail


@functools.cache
def quiet_opencv() -> None:
    """Keep OpenCV's own warnings (``[ WARN ] ... PNG input buffer is incomplete``) off the console.

    A file OpenCV warns about is either decoded anyway or skipped with its reason, and that is what
    cvstudio reports, once, in words. Its errors still show; ``OPENCV_LOG_LEVEL`` set by the user wins.
    The level is set once per process: each call into OpenCV costs as much as a tenth of decoding a
    small PNG.
    """
    import cv2

    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class UnreadableImage(ValueError):
    """A file could not be turned into an image; the message is the reason, for the user."""


def read_image(path: Path, bgr: bool = False, shrink_to: tuple[int, int] | None = None) -> np.ndarray:
    """The image at ``path`` as uint8 RGB (H, W, 3) or grey (H, W, 1); BGR, OpenCV's order, with ``bgr``.

    Every way a file can fail (unreadable, corrupt, too large to decode, an
    error inside the decoder) is an :class:`UnreadableImage`, so that a folder
    skips the file with its reason and goes on. A caller that shrinks the
    image asks for BGR and converts the small one: converting a photo at full
    size costs an eighth of decoding it (12 megapixels of JPEG). A JPEG stands
    as its EXIF orientation says; a caller that resizes the image to
    ``shrink_to`` (height, width) next may get a JPEG decoded smaller, never
    below twice that size: see :func:`decode_flags`.
    """
    import cv2

    quiet_opencv()
    data = _file_bytes(path)
    head = data[:HEADER_BYTES]
    size = declared_size(head)
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        width, height = size
        raise UnreadableImage(f"declares {width}×{height} pixels ({width * height / 1e6:,.0f} megapixels), more "
                              f"than the {MAX_PIXELS / 1e6:.0f} megapixels cvstudio decodes; shrink it first")
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), decode_flags(head, shrink_to)) if data else None
        if image is None:
            raise UnreadableImage("not a readable image: the file is empty, corrupt or in an unsupported format")
        image = _to_uint8(image)
        if image.ndim == 2:
            return image[..., None]
        if image.shape[2] == 4:
            image = over_white(image)
        return image if bgr else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    except (cv2.error, MemoryError) as exc:
        reason = "too large to decode in the memory left" if isinstance(exc, MemoryError) else str(exc).strip()
        raise UnreadableImage(f"cannot be decoded: {reason.splitlines()[-1]}") from None


def _file_bytes(path: Path) -> bytes:
    """The whole file, for :func:`cv2.imdecode` (non-ASCII paths work on Windows too, unlike ``cv2.imread``).

    An unbuffered read costs a third of ``np.fromfile``'s Python-level file handling, which took as long
    as decoding a small PNG.
    """
    try:
        with open(path, "rb", buffering=0) as stream:
            return stream.readall()
    except OSError as exc:
        raise UnreadableImage(f"cannot be read: {exc.strerror or exc}") from None


def declared_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) as a PNG, JPEG, BMP or GIF header declares it, read before anything is decoded."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", head[6:10])
    if head.startswith(b"BM") and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(width), abs(height)
    frame = jpeg_frame(head)
    return (frame.width, frame.height) if frame else None


@dataclass(frozen=True)
class JpegFrame:
    """What a JPEG's start-of-frame segment declares."""

    width: int
    height: int
    bits: int  # per sample: 8 for nearly every JPEG
    components: int  # 1: grey, 3: colour, 4: CMYK


def jpeg_frame(head: bytes) -> JpegFrame | None:
    """The frame a JPEG declares, if ``head`` is a JPEG's start and reaches its start-of-frame segment."""
    if not head.startswith(b"\xff\xd8"):
        return None
    position = 2
    while position + 10 <= len(head) and head[position] == 0xFF:
        marker, length = head[position + 1], struct.unpack(">H", head[position + 2:position + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            bits, height, width, components = struct.unpack(">BHHB", head[position + 4:position + 10])
            return JpegFrame(width, height, bits, components)
        position += 2 + length
    return None


def decode_flags(head: bytes, shrink_to: tuple[int, int] | None) -> int:
    """OpenCV's flags to decode the file that starts with ``head`` as a viewer shows it, for a caller that
    resizes it to ``shrink_to`` next.

    An 8-bit grey or colour JPEG is turned by its EXIF orientation, as viewers show it: a portrait that
    a phone stored on its side stands up. One whose shorter side is at least four times the longer
    of ``shrink_to`` is decoded at 1/2, 1/4 or 1/8 of its size, the smallest that keeps the shorter
    side twice that long (either side may become the height once upright): libjpeg skips detail
    while it decodes, and the resize after it still averages each pixel from several. A
    640×480 photo for a 32×32 model decodes 1.6 times as fast, a 12-megapixel one for 224×224 2.8
    times, and the resized image differs from the full decode's by under half a grey level on average,
    5 at most. (Half the size again would be 2.0 and 3.5 times as fast, but up to a grey level off on
    average, 19 at most.) Any other file is decoded as it is (16-bit, alpha and all), and so is a JPEG
    those modes would change: CMYK or 12-bit.
    """
    import cv2

    frame = jpeg_frame(head)
    if frame is None or frame.bits != 8 or frame.components not in (1, 3):
        return cv2.IMREAD_UNCHANGED
    kind = "GRAYSCALE" if frame.components == 1 else "COLOR"
    factor = 1
    if shrink_to:
        shorter, least = min(frame.height, frame.width), 2 * max(shrink_to)
        factor = next((f for f in (8, 4, 2) if shorter // f >= least), 1)
    return getattr(cv2, f"IMREAD_{kind}" if factor == 1 else f"IMREAD_REDUCED_{kind}_{factor}")


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

    The first files are read on this thread and timed: when each takes less than :data:`CHEAP_READ_S`
    of CPU, the rest are read here too. Progress goes to whoever listens through
    :func:`cvstudio.core.tasks.report_progress`.
    """
    from concurrent.futures import ThreadPoolExecutor

    from cvstudio.core.tasks import Progress, report_progress
    from cvstudio.core.threads import usable_cores

    chunks = [paths[i:i + READ_CHUNK] for i in range(0, len(paths), READ_CHUNK)]
    done: list[T] = []

    def add(results: Sequence[T]) -> None:
        done.extend(results)
        report_progress(Progress("dataset", stage, len(done), len(paths)))

    workers = workers or usable_cores()
    if chunks and workers > 1:
        first, seconds_each = timed_reads(chunks.pop(0), read)
        add(first)
        workers = workers if seconds_each >= CHEAP_READ_S else 1
    if workers == 1:
        for chunk in chunks:
            add([read(path) for path in chunk])
        return done
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cvstudio-read") as pool:
        for results in pool.map(lambda chunk: [read(path) for path in chunk], chunks):
            add(results)
    return done


def timed_reads(paths: Sequence[Path], read: Callable[[Path], T]) -> tuple[list[T], float]:
    """``read(path)`` for each path, and the CPU seconds this thread spent on each: the mean over the files
    after the first (which pays for warming up), the slowest left out.

    CPU time, not wall time: the time spent waiting for Python's GIL while another thread holds it, or
    for a core that another program holds, says nothing about the files, and would send files cheap to
    read to the threads where they go at half the speed. The slowest file is left out for the same
    reason: a garbage collection during one read takes CPU time too.
    """
    results = [read(path) for path in paths[:1]]
    ticks = [time.thread_time()]
    for path in paths[1:]:
        results.append(read(path))
        ticks.append(time.thread_time())
    each = [after - before for before, after in zip(ticks, ticks[1:])]
    if len(each) < 2:
        return results, sum(each)
    return results, (sum(each) - max(each)) / (len(each) - 1)
