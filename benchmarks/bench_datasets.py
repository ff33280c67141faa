"""Loading a folder of images: cvstudio's image-folder dataset against decoding the same files in a bare loop.

A generated folder of PNG files (two classes, 10,000 images; 2,000 with ``--quick``), loaded at 64×64:

- ``folder_load_first_s``: seconds to load it with an empty cvstudio cache (decoding in parallel, then
  writing the cache); the files themselves are in the operating system's file cache, as after a first look;
- ``folder_load_cached_s``: seconds to load it again, from the cache;
- ``folder_load_vs_bare``: images/s of the first load / images/s of a bare single-threaded loop that reads
  and resizes the same files with OpenCV (above 1: the parallel decoding pays for the cache writing);
- ``folder_load_images_per_s``: the medians of each side.
- ``photo_load_vs_bare``: the same first load and bare loop on a folder of 1280×960 JPEG photographs (96; 32
  with ``--quick``): cvstudio decodes each at the smallest size still twice 64×64, the loop whole.

Every figure is the median of interleaved rounds (see :mod:`pairs`); the cache lives in a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from pairs import Ratio, interleaved
from photos import write_photos

SIZE = 64


def write_folder(root: Path, count: int) -> list[Path]:
    """Smooth random pictures (they compress as photos do, unlike noise), half in each class folder."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = root / ("a" if i % 2 else "b") / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        cv2.imwrite(str(path), cv2.resize(small, (96, 96), interpolation=cv2.INTER_CUBIC))
        paths.append(path)
    return paths


def bare_loop_s(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        cv2.resize(cv2.imread(str(path)), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return time.perf_counter() - start


def dataset_ratios(pairs: int = 5, quick: bool = False) -> dict[str, object]:
    from cvstudio_datasets.folder import load

    count, photos = (2000, 32) if quick else (10000, 96)
    with tempfile.TemporaryDirectory() as tmp:
        root, cache = Path(tmp) / "folder", Path(tmp) / "cache"
        os.environ["XDG_CACHE_HOME"] = str(cache)  # the user's own cache folder is left alone
        paths = write_folder(root, count)
        photo_root = Path(tmp) / "photos"
        photo_paths = write_photos(photo_root / "a", photos // 2) + write_photos(photo_root / "b", photos // 2)

        def timed_load(folder: Path, images: int) -> float:
            start = time.perf_counter()
            assert len(load(str(folder), SIZE)) == images
            return time.perf_counter() - start

        def first_then_cached() -> tuple[float, float]:
            shutil.rmtree(cache, ignore_errors=True)
            return timed_load(root, count), timed_load(root, count)

        def first_photos() -> float:
            shutil.rmtree(cache, ignore_errors=True)
            return timed_load(photo_root, len(photo_paths))

        bare_loop_s(paths)  # warm-up: the files in the file cache, OpenCV's first calls
        rounds = interleaved([lambda: bare_loop_s(paths), first_then_cached], pairs)
        bare_loop_s(photo_paths)
        photo_rounds = interleaved([lambda: bare_loop_s(photo_paths), first_photos], pairs)
    first = [loads[0] for _, loads in rounds]
    cached = [loads[1] for _, loads in rounds]
    return {
        "folder_load_first_s": Ratio(tuple(first)).to_json(),
        "folder_load_cached_s": Ratio(tuple(cached)).to_json(),
        "folder_load_vs_bare": Ratio(tuple(bare / f for (bare, _), f in zip(rounds, first))).to_json(),
        "folder_load_images_per_s": {"images": count,
                                     "first": round(count / statistics.median(first)),
                                     "cached": round(count / statistics.median(cached)),
                                     "bare_loop": round(count / statistics.median(bare for bare, _ in rounds))},
        "photo_load_vs_bare": Ratio(tuple(bare / first for bare, first in photo_rounds)).to_json(),
        "photo_load_images_per_s": {
            "images": len(photo_paths), "size": "1280×960",
            "first": round(len(photo_paths) / statistics.median(first for _, first in photo_rounds)),
            "bare_loop": round(len(photo_paths) / statistics.median(bare for bare, _ in photo_rounds))},
    }


if __name__ == "__main__":
    print(json.dumps(dataset_ratios(2, quick=True)))
