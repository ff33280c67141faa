"""A dataset from the user's own folder: one sub-folder per class.

Real folders are messy: mixed sizes, grey, RGBA and 16-bit images, stray text
files, a corrupt download. Everything readable is used, everything else is
listed in ``skipped`` with the reason, and a folder that cannot work at all
gets an error that says what to change.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from cvstudio.core.data import DatasetError, ImageDataset, SkippedFile
from cvstudio.core.image_files import UnreadableImage, read_image, read_many
from cvstudio.core.memory import check_fits, image_bytes
from cvstudio_datasets import folder_cache

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_LAYOUT_HINT = "one sub-folder per class, e.g. <root>/cat/*.jpg and <root>/dog/*.jpg"


def load(root: str = "", image_size: int = 64, color: str = "rgb") -> ImageDataset:
    """Every readable image under ``root/<class>/``, resized to ``image_size`` squared.

    Decoded in parallel the first time, then read back from the user cache folder until a file changes.
    """
    folder = _checked_root(root)
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DatasetError(f"'{folder}' has no class sub-folders. Arrange the images as {_LAYOUT_HINT}.")
    if len(class_dirs) == 1:
        raise DatasetError(
            f"'{folder}' has only one class sub-folder, '{class_dirs[0].name}'; telling classes apart "
            f"needs at least two. Add a sub-folder for another class ({_LAYOUT_HINT})."
        )
    not_images: list[SkippedFile] = []
    candidates: list[tuple[int, Path]] = []
    for label, class_dir in enumerate(class_dirs):
        for path in _visible_files(class_dir):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                candidates.append((label, path))
            else:
                reason = f"not an image file (supported: {', '.join(IMAGE_SUFFIXES)})"
                not_images.append(SkippedFile(str(path), reason))
    decoded = _decoded(folder, [path for _, path in candidates], image_size, color)
    labels = [label for (label, _), readable in zip(candidates, decoded.readable) if readable]
    unreadable = [SkippedFile(str(candidates[i][1]), reason) for i, reason in sorted(decoded.reasons.items())]
    _check_usable(folder, class_dirs, labels, unreadable)
    return ImageDataset(
        name=folder.name or "image-folder",
        images=decoded.images,
        labels=np.array(labels),
        class_names=tuple(d.name for d in class_dirs),
        skipped=tuple(sorted(unreadable + not_images, key=lambda skip: skip.path)),
        description=f"{len(labels)} images from {folder}, resized to {image_size}×{image_size} {color}",
    )


def _checked_root(root: str) -> Path:
    if not root.strip():
        raise DatasetError(f"No folder chosen: set 'root' to a folder of images arranged as {_LAYOUT_HINT}.")
    folder = Path(root).expanduser()
    if not folder.exists():
        raise DatasetError(f"Folder '{folder}' does not exist. Check the path, or create it with {_LAYOUT_HINT}.")
    if not folder.is_dir():
        raise DatasetError(f"'{folder}' is a file, not a folder. Set 'root' to the folder that holds {_LAYOUT_HINT}.")
    return folder


def _visible_files(class_dir: Path) -> list[Path]:
    """Files anywhere below ``class_dir`` in sorted path order, leaving out hidden files and folders.

    One directory listing per folder (``rglob`` and a ``stat`` per file took a twentieth of a first load).
    Links to folders are not followed (they could loop); an unreadable sub-folder holds nothing to use.
    """
    return [Path(path) for path in _walk(str(class_dir))]


def _walk(folder: str) -> Iterator[str]:
    try:
        with os.scandir(folder) as listing:
            entries = sorted((entry for entry in listing if not entry.name.startswith(".")),
                             key=lambda entry: os.path.normcase(entry.name))  # the order of sorted(paths)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path)
        elif entry.is_file():
            yield entry.path


def _decoded(folder: Path, paths: list[Path], size: int, color: str) -> folder_cache.Decoded:
    """Every file decoded and resized: from the cache when nothing changed, else in parallel, then cached."""
    params = {"image_size": size, "color": color}
    where, key = folder_cache.cache_path(folder, params), folder_cache.content_key(paths, params)
    shape = (size, size, 1 if color == "grayscale" else 3)
    check_fits(image_bytes(len(paths), *shape), f"the folder '{folder}' ({len(paths):,} files at {size}×{size})",
               "lower image_size or use fewer images")
    cached = folder_cache.load(where, key, len(paths), shape)
    if cached is not None:
        return cached
    results = read_many(paths, partial(_read, size=size, grayscale=color == "grayscale"))
    images = [r for r in results if not isinstance(r, str)]
    decoded = folder_cache.Decoded(
        images=np.stack(images) if images else np.empty((0, *shape), np.uint8),
        readable=np.array([not isinstance(r, str) for r in results], dtype=bool),
        reasons={i: r for i, r in enumerate(results) if isinstance(r, str)},
    )
    folder_cache.store(where, key, decoded)
    return decoded


def _read(path: Path, size: int, grayscale: bool) -> np.ndarray | str:
    """The image at ``path`` as uint8 (size, size, C), or the reason it cannot be used."""
    try:
        image = read_image(path, bgr=True, shrink_to=(size, size))  # colours are converted once it is small
    except UnreadableImage as reason:
        return str(reason)
    if grayscale and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA).reshape(size, size, -1)
    if grayscale:
        return image
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.shape[2] == 1 else cv2.COLOR_BGR2RGB)


def _check_usable(folder: Path, class_dirs: list[Path], labels: list[int], unreadable: list[SkippedFile]) -> None:
    """Raise a DatasetError that names the fix when the readable images cannot make a dataset."""
    if unreadable and not labels:
        first = unreadable[0]
        raise DatasetError(
            f"None of the {len(unreadable)} image files under '{folder}' could be read "
            f"(first: '{first.path}': {first.reason}). Replace them with valid image files."
        )
    counts = np.bincount(np.array(labels, dtype=np.int64), minlength=len(class_dirs))
    for class_dir, count in zip(class_dirs, counts):
        if count == 0:
            raise DatasetError(
                f"Class folder '{class_dir.name}' ({class_dir}) has no readable images. Add "
                f"{', '.join(IMAGE_SUFFIXES)} images to it, or remove the folder."
            )
