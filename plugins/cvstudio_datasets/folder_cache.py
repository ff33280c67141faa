"""Decoded image folders kept in the user cache folder, so that opening a folder again takes a moment.

One cache file per folder and load parameters holds the resized images and the reasons of the files
that could not be read. It is used only when its key matches: the format version, the load parameters
and every candidate file's path, size and modification time. A file added, removed, replaced or touched
changes the key and the folder is decoded again. A cache file that cannot be read, or whose contents do
not match what its key promises, is rebuilt, never trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

FORMAT = 2  # 2: JPEGs stand as their EXIF orientation says, decoded smaller where the load size allows


@dataclass(frozen=True)
class Decoded:
    """Every candidate file's outcome: ``images`` for the readable ones, in order, and reasons by index."""

    images: np.ndarray
    readable: np.ndarray  # bool per candidate
    reasons: dict[int, str]


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("cvstudio")) / "image-folders"


def cache_path(folder: Path, params: dict[str, Any]) -> Path:
    """Where the decoded ``folder`` is kept for these load parameters."""
    slot = json.dumps([str(folder.resolve()), params], sort_keys=True)
    return cache_dir() / f"{hashlib.sha256(slot.encode()).hexdigest()[:32]}.npz"


def content_key(files: Sequence[Path], params: dict[str, Any]) -> str:
    """A digest of the load parameters and each file's path, size and modification time."""
    digest = hashlib.sha256(json.dumps([FORMAT, params], sort_keys=True).encode())
    for path in files:
        try:
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        except OSError:
            digest.update(f"{path}\0missing\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def load(path: Path, key: str, count: int, shape: tuple[int, ...]) -> Decoded | None:
    """The cached outcome when the file at ``path`` exists, reads cleanly and matches ``key``; else None."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None
            images, readable = stored["images"], stored["readable"]
            reasons = {int(i): str(r) for i, r in zip(stored["reason_index"], stored["reason_text"])}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if (readable.dtype != bool or readable.shape != (count,) or images.dtype != np.uint8
            or images.shape != (int(readable.sum()), *shape) or set(reasons) != set(np.flatnonzero(~readable).tolist())):
        return None
    return Decoded(images, readable, reasons)


def store(path: Path, key: str, decoded: Decoded) -> None:
    """Write the cache atomically; a cache that cannot be written (full disk, read-only) is simply not kept."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as stream:
            np.savez(stream, key=np.array(key), images=decoded.images, readable=decoded.readable,
                     reason_index=np.array(sorted(decoded.reasons), dtype=np.int64),
                     reason_text=np.array([decoded.reasons[i] for i in sorted(decoded.reasons)], dtype=str))
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
