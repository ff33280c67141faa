"""The image-folder dataset decodes once: a cache that a changed file invalidates and a corrupt one never fools."""

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvstudio.core.tasks import progress_to
from cvstudio.plugins import load_registry
from cvstudio_datasets import folder, folder_cache

SPECS = load_registry(autoload=False).specs("datasets")


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(20):
            cv2.imwrite(str(root / label / f"{i:02d}.png"), rng.integers(0, 256, (30, 20 + i, 3), dtype=np.uint8))
    (root / "dog" / "broken.png").write_bytes(b"not an image")
    return root


def load(root: Path, **params):
    return SPECS["image-folder"].create(root=str(root), **params)


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """The files the loader really decoded (not read from the cache)."""
    seen: list[str] = []
    real = folder._read

    def counting(path, size, grayscale):
        seen.append(Path(path).name)
        return real(path, size, grayscale)

    monkeypatch.setattr(folder, "_read", counting)
    return seen


def same(a, b) -> bool:
    return (np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
            and a.skipped == b.skipped and a.class_names == b.class_names)


def test_the_second_load_comes_from_the_cache_and_equals_the_first(photos, decodes):
    first = load(photos, image_size=16)
    assert len(decodes) == 41 and len(first) == 40
    assert [Path(s.path).name for s in first.skipped] == ["broken.png"]
    (cached_file,) = folder_cache.cache_dir().iterdir()
    assert cached_file.suffix == ".npz"
    decodes.clear()
    second = load(photos, image_size=16)
    assert decodes == [] and same(first, second)


def test_other_load_parameters_have_their_own_cache(photos, decodes):
    load(photos, image_size=16)
    decodes.clear()
    grey = load(photos, image_size=16, color="grayscale")
    assert len(decodes) == 41 and grey.images.shape == (40, 16, 16, 1)
    assert len(list(folder_cache.cache_dir().iterdir())) == 2


@pytest.mark.parametrize("change", ["rewritten", "touched", "added", "removed"])
def test_a_changed_file_invalidates_the_cache(photos, decodes, change):
    before = load(photos, image_size=16)
    target = photos / "cat" / "03.png"
    if change == "rewritten":  # another image: its size and modification time change
        cv2.imwrite(str(target), np.zeros((30, 30, 3), np.uint8))
    elif change == "touched":
        stat = target.stat()
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    elif change == "added":
        cv2.imwrite(str(photos / "cat" / "new.png"), np.zeros((8, 8, 3), np.uint8))
    else:
        target.unlink()
    decodes.clear()
    after = load(photos, image_size=16)
    assert decodes, "the folder was decoded again"
    assert len(after) == len(before) + {"rewritten": 0, "touched": 0, "added": 1, "removed": -1}[change]
    if change == "rewritten":
        assert not np.array_equal(after.images[3], before.images[3])
        assert after.images[3].max() == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "wrong shape", "wrong key", "bad reasons"])
def test_a_corrupt_cache_is_rebuilt_never_trusted(photos, decodes, damage):
    truth = load(photos, image_size=16)
    (path,) = folder_cache.cache_dir().iterdir()
    if damage == "garbage":
        path.write_bytes(b"this is not a numpy archive")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        with np.load(path) as stored:
            arrays = dict(stored)
        if damage == "wrong shape":
            arrays["images"] = arrays["images"][:, :8]
        elif damage == "wrong key":
            arrays["images"] = np.zeros_like(arrays["images"])  # someone else's pixels under another key
            arrays["key"] = np.array("0" * 64)
        else:
            arrays["reason_index"] = np.array([0])
        with open(path, "wb") as stream:
            np.savez(stream, **arrays)
    decodes.clear()
    again = load(photos, image_size=16)
    assert len(decodes) == 41 and same(truth, again)
    decodes.clear()
    assert same(truth, load(photos, image_size=16)) and decodes == []  # and the rebuilt cache is good


def test_a_cache_that_cannot_be_written_does_not_stop_the_load(photos, monkeypatch, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setattr(folder_cache, "cache_dir", lambda: blocked / "image-folders")
    assert len(load(photos, image_size=16)) == 40
    assert blocked.is_file()  # nothing was written


def test_decoding_reports_progress(photos):
    seen = []
    with progress_to(seen.append):
        load(photos, image_size=16)
    assert seen and seen[-1].done == seen[-1].total == 41
    assert [p.done for p in seen] == sorted(p.done for p in seen)
