"""The built-in dataset plugin: specs, the generated shapes, digits, image folders, torchvision sets."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import cvstudio_datasets
from cvstudio import SpecError
from cvstudio.core.data import DatasetError
from cvstudio_datasets.torchvision_sets import first_per_class

SPECS = {spec.name: spec for spec in cvstudio_datasets.cvstudio_register_datasets()}


def test_registers_the_four_datasets_with_lazy_factories():
    assert set(SPECS) == {"shapes", "digits", "image-folder", "torchvision"}
    for spec in SPECS.values():
        assert isinstance(spec.factory, str)
        assert spec.description.strip()


def test_listing_datasets_imports_nothing_heavy():
    code = (
        "import sys, cvstudio_datasets; cvstudio_datasets.cvstudio_register_datasets(); "
        "print(sorted(m for m in ('torch', 'torchvision', 'cv2', 'sklearn', 'skimage') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- shapes ---------------------------------------------------------------------------------


def test_shapes_same_seed_same_images_other_seed_other_images():
    spec = SPECS["shapes"]
    first = spec.create(per_class=20, seed=3)
    again = spec.create(per_class=20, seed=3)
    other = spec.create(per_class=20, seed=4)
    np.testing.assert_array_equal(first.images, again.images)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert not np.array_equal(first.images, other.images)


def test_shapes_shape_dtype_and_balance():
    data = SPECS["shapes"].create(per_class=25, classes=4, image_size=40)
    assert data.images.shape == (100, 40, 40, 3)
    assert data.images.dtype == np.uint8
    assert data.class_names == ("circle", "square", "triangle", "star")
    assert data.class_counts().tolist() == [25, 25, 25, 25]


def test_shapes_default_has_six_balanced_classes_of_300():
    data = SPECS["shapes"].create()
    assert data.images.shape == (1800, 32, 32, 3)
    assert data.class_counts().tolist() == [300] * 6


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"classes": 9}, "above its maximum"),
        ({"classes": 1}, "below its minimum"),
        ({"per_class": 0}, "below its minimum"),
        ({"nuisance": 1.5}, "above its maximum"),
        ({"image_size": 32.5}, "whole number"),
        ({"background": "red"}, "has no parameter 'background'"),
    ],
)
def test_shapes_rejects_bad_parameters(values, message):
    with pytest.raises(SpecError, match=message):
        SPECS["shapes"].create(**values)


def test_shapes_color_tells_nothing_but_edges_tell_something():
    """The lesson's premise, small: color histogram + SVM near chance, HOG + SVM clearly above."""
    from skimage.feature import hog
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    train = SPECS["shapes"].create(per_class=100, seed=1)
    test = SPECS["shapes"].create(per_class=50, seed=2)

    def color_histogram(images):
        bins = images // 64
        codes = (bins[..., 0] * 16 + bins[..., 1] * 4 + bins[..., 2]).reshape(len(images), -1)
        return np.stack([np.bincount(c, minlength=64) for c in codes]).astype(np.float32)

    def hog_features(images):
        grey = images.astype(np.float32).mean(axis=-1) / 255
        return np.stack([hog(g, pixels_per_cell=(8, 8), cells_per_block=(2, 2)) for g in grey])

    def accuracy(features):
        model = make_pipeline(StandardScaler(), SVC(C=10)).fit(features(train.images), train.labels)
        return float((model.predict(features(test.images)) == test.labels).mean())

    assert accuracy(color_histogram) < 0.3  # chance is 1/6
    assert accuracy(hog_features) > 0.4


# --- digits ---------------------------------------------------------------------------------


def test_digits_scaled_to_uint8_and_upscaled():
    data = SPECS["digits"].create()
    assert data.images.shape == (1797, 32, 32, 1)
    assert data.images.dtype == np.uint8
    assert data.images.max() == 255
    assert data.class_names == tuple("0123456789")
    assert SPECS["digits"].create(upscale=1).images.shape == (1797, 8, 8, 1)


# --- image folder ---------------------------------------------------------------------------


def _write(path: Path, image: np.ndarray) -> Path:
    """Write with imencode + tofile, so non-ASCII paths work as they do for users."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(path.suffix, image)
    assert ok
    encoded.tofile(path)
    return path


def _bgr(height: int, width: int, bgr: tuple[int, int, int]) -> np.ndarray:
    return np.full((height, width, 3), bgr, np.uint8)


@pytest.fixture
def image_tree(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    _write(root / "cat" / "red.png", _bgr(30, 40, (0, 0, 255)))
    _write(root / "cat" / "big.jpg", _bgr(120, 90, (255, 0, 0)))
    _write(root / "cat" / "grey.png", np.full((20, 20), 128, np.uint8))
    transparent = np.zeros((16, 16, 4), np.uint8)
    _write(root / "cat" / "clear.png", transparent)
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    (root / "cat" / "notes.txt").write_text("label me")
    _write(root / "cat" / ".hidden.png", _bgr(8, 8, (0, 0, 0)))
    _write(root / "dog" / "deep.png", np.full((50, 10), 65535, np.uint16))
    _write(root / "dog" / "nested" / "wide.bmp", _bgr(10, 100, (0, 255, 0)))
    _write(root / "dog" / "hündchen 犬.png", _bgr(12, 12, (0, 255, 255)))
    _write(root / ".thumbnails" / "x.png", _bgr(8, 8, (0, 0, 0)))
    return root


def test_image_folder_reads_mixed_images_and_reports_skipped(image_tree: Path):
    data = SPECS["image-folder"].create(root=str(image_tree), image_size=24)
    assert data.class_names == ("cat", "dog")
    assert data.images.shape == (7, 24, 24, 3)
    assert data.class_counts().tolist() == [4, 3]
    skipped = {Path(s.path).name: s.reason for s in data.skipped}
    assert set(skipped) == {"broken.png", "notes.txt"}
    assert "corrupt" in skipped["broken.png"]
    assert "not an image" in skipped["notes.txt"]
    pixels = {tuple(image[12, 12]) for image in data.images}
    assert (255, 0, 0) in pixels  # red stays red: BGR is turned into RGB
    assert (255, 255, 255) in pixels  # transparent is shown on white
    assert (128, 128, 128) in pixels  # grey becomes three equal channels
    assert (255, 255, 0) in pixels  # the non-ASCII file name was read


def test_image_folder_takes_files_in_path_order_skipping_hidden_ones_and_folder_links(tmp_path: Path):
    root = tmp_path / "photos"
    for name, level in {"b.png": 10, "a/z.png": 20, "a b/c.png": 30, "a.png": 40, ".hidden/x.png": 50,
                        "a/.x.png": 60}.items():
        _write(root / "cat" / name, np.full((8, 8), level, np.uint8))
    _write(root / "dog" / "d.png", np.full((8, 8), 70, np.uint8))
    (root / "cat" / "a" / "loop").symlink_to(root, target_is_directory=True)  # followed, it would never end
    data = SPECS["image-folder"].create(root=str(root), image_size=8, color="grayscale")
    assert data.images[data.labels == 0][:, 0, 0, 0].tolist() == [20, 30, 40, 10]  # a/z, a b/c, a, b
    assert data.skipped == ()


def test_image_folder_grayscale(image_tree: Path):
    data = SPECS["image-folder"].create(root=str(image_tree), image_size=16, color="grayscale")
    assert data.images.shape == (7, 16, 16, 1)
    assert 255 in data.images[data.labels == 1]  # 16-bit white stays white


@pytest.mark.parametrize("color", ["rgb", "grayscale"])
def test_image_folder_of_photographs_loads_the_pixels_of_a_full_decode(tmp_path: Path, photo, color):
    """JPEGs are decoded at a reduced size where the load size allows it: the resized images stay the same."""
    root = tmp_path / "photos"
    for label in ("cat", "dog"):
        for i in range(3):
            _write(root / label / f"{i}.jpg", np.roll(photo(480, 640), 50 * i + 20 * len(label), axis=0))
    data = SPECS["image-folder"].create(root=str(root), image_size=32, color=color)
    grey = color == "grayscale"
    full = [cv2.resize(cv2.imread(str(root / label / f"{i}.jpg"), cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR),
                       (32, 32), interpolation=cv2.INTER_AREA) for label in ("cat", "dog") for i in range(3)]
    expected = np.stack([image[..., None] if grey else image[..., ::-1] for image in full]).astype(int)
    difference = np.abs(data.images.astype(int) - expected)
    assert data.images.shape == (6, 32, 32, 1 if grey else 3)
    assert difference.mean() < 0.5 and difference.max() <= 6


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


PNG = cv2.imencode(".png", np.zeros((4, 4), np.uint8))[1].tobytes()


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (None, "No folder chosen: set 'root'"),
        ({}, "has no class sub-folders"),
        ({"cat/a.png": PNG}, "only one class sub-folder, 'cat'"),
        ({"cat/a.png": PNG, "dog/readme.txt": b"hi"}, r"Class folder 'dog' .* has no readable images"),
        ({"cat/a.png": b"junk", "dog/b.jpg": b"junk"}, r"None of the 2 image files .* could be read"),
    ],
)
def test_image_folder_errors_name_problem_and_fix(tmp_path: Path, layout, message):
    root = "" if layout is None else str(_tree(tmp_path / "data", layout))
    with pytest.raises(DatasetError, match=message):
        SPECS["image-folder"].create(root=root)


def test_image_folder_missing_root_and_file_root(tmp_path: Path):
    with pytest.raises(DatasetError, match="does not exist. Check the path"):
        SPECS["image-folder"].create(root=str(tmp_path / "nowhere"))
    a_file = tmp_path / "a.png"
    a_file.write_bytes(PNG)
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        SPECS["image-folder"].create(root=str(a_file))


# --- torchvision ----------------------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No name resolves, as on a machine without network: torchvision's real download code fails."""

    def no_network(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)


def _write_idx(path: Path, array: np.ndarray) -> None:
    """MNIST's idx format: magic (0, 0, type 0x08 = ubyte, ndim), big-endian sizes, then the bytes."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


@pytest.fixture
def fake_mnist(tmp_path: Path) -> Path:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, count in (("train", 30), ("t10k", 20)):
        labels = np.arange(count) % 10
        images = np.zeros((count, 28, 28), np.uint8)
        images[:, 14, 14] = labels * 20  # each image carries its label in one pixel
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return tmp_path


def test_torchvision_uses_files_in_local_root_without_network(fake_mnist: Path, offline):
    data = SPECS["torchvision"].create(root=str(fake_mnist), limit=0)
    assert data.images.shape == (30, 28, 28, 1)
    assert data.class_names == tuple("0123456789")
    np.testing.assert_array_equal(data.images[:, 14, 14, 0], data.labels * 20)
    test = SPECS["torchvision"].create(root=str(fake_mnist), split="test", limit=10)
    assert sorted(test.labels.tolist()) == list(range(10))


@pytest.mark.parametrize(("name", "layout"), [("mnist", "MNIST/raw"), ("cifar10", "cifar-10-batches-py")])
def test_torchvision_offline_download_says_so_and_how_to_fix(tmp_path: Path, offline, name, layout):
    with pytest.raises(DatasetError) as error:
        SPECS["torchvision"].create(dataset=name, root=str(tmp_path))
    message = str(error.value)
    assert "Could not download" in message
    assert "seems to be offline" in message
    assert str(tmp_path / layout) in message


def test_torchvision_missing_files_without_download(tmp_path: Path, offline):
    with pytest.raises(DatasetError, match="downloading is switched off") as error:
        SPECS["torchvision"].create(dataset="fashion-mnist", root=str(tmp_path), download=False)
    assert str(tmp_path / "FashionMNIST" / "raw") in str(error.value)


def test_first_per_class_is_balanced_and_in_order():
    labels = np.array([0, 0, 0, 1, 0, 1, 2, 2, 1])
    assert first_per_class(labels, 3).tolist() == [0, 3, 6]
    assert first_per_class(labels, 6).tolist() == [0, 1, 3, 5, 6, 7]
    assert first_per_class(labels, 0).tolist() == list(range(9))


def _png_declaring(width: int, height: int) -> bytes:
    """A small PNG file whose header declares ``width`` × ``height`` pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100_000))
            + chunk(b"IEND", b""))


def test_an_image_declaring_a_gigapixel_is_skipped_with_its_reason(image_tree: Path):
    (image_tree / "dog" / "giant.png").write_bytes(_png_declaring(40_000, 30_000))
    data = SPECS["image-folder"].create(root=str(image_tree), image_size=24)
    assert data.class_counts().tolist() == [4, 3]
    skipped = {Path(s.path).name: s.reason for s in data.skipped}
    assert "declares 40000×30000 pixels (1,200 megapixels)" in skipped["giant.png"]


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"])
def test_the_declared_size_is_read_from_the_header(suffix):
    from cvstudio.core.image_files import declared_size

    ok, encoded = cv2.imencode(suffix, _bgr(30, 40, (1, 2, 3)))
    assert declared_size(encoded.tobytes()) == (40, 30)


def test_shapes_are_made_in_their_final_type_a_chunk_at_a_time():
    import tracemalloc

    tracemalloc.start()
    try:
        data = SPECS["shapes"].create(per_class=500, classes=8, image_size=64)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data.images.nbytes == 4000 * 64 * 64 * 3
    assert peak < 1.5 * data.images.nbytes  # a float64 copy of them all would be 8 times as much


def test_a_dataset_too_large_for_the_free_memory_is_refused_with_both_figures(monkeypatch, image_tree: Path):
    from cvstudio.core import memory
    from cvstudio.core.data import DatasetError

    monkeypatch.setattr(memory, "available_bytes", lambda: 100 * 1024**2)
    with pytest.raises(DatasetError, match=r"the shapes dataset \(40,000 images of 128×128\) needs about 1.8 GB "
                                           r"of memory.*this machine has 100 MB free; lower per_class or image_size"):
        SPECS["shapes"].create(per_class=5000, classes=8, image_size=128)
    monkeypatch.setattr(memory, "available_bytes", lambda: 1000)
    with pytest.raises(DatasetError, match=r"needs about .* this machine has 0 MB free; lower image_size"):
        SPECS["image-folder"].create(root=str(image_tree), image_size=24)
