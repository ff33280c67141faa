"""Reading one image file: RGB or OpenCV's BGR on request, and every failure a reason, not a crash."""

import hashlib
import struct
import threading
import time

import cv2
import numpy as np
import pytest

from cvstudio.core.image_files import (
    CHEAP_READ_S, UnreadableImage, decode_flags, jpeg_frame, read_image, read_many, timed_reads,
)


@pytest.fixture
def red_png(tmp_path):
    path = tmp_path / "red.png"
    cv2.imwrite(str(path), np.full((3, 5, 3), (0, 0, 255), np.uint8))  # OpenCV writes BGR
    return path


def test_an_image_is_rgb_unless_bgr_is_asked_for(red_png, tmp_path):
    assert read_image(red_png).shape == (3, 5, 3)
    assert read_image(red_png)[0, 0].tolist() == [255, 0, 0]
    assert read_image(red_png, bgr=True)[0, 0].tolist() == [0, 0, 255]
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.full((4, 4), 7, np.uint8))
    for bgr in (False, True):
        assert read_image(grey, bgr=bgr).shape == (4, 4, 1)


@pytest.mark.parametrize(("make", "reason"), [
    (lambda path: None, "cannot be read: No such file or directory"),
    (lambda path: path.mkdir(), "cannot be read: Is a directory"),
    (lambda path: path.write_bytes(b""), "not a readable image: the file is empty"),
    (lambda path: path.write_bytes(b"\x89PNG\r\n\x1a\n not really"), "not a readable image"),
])
def test_a_file_that_cannot_be_an_image_says_why(tmp_path, make, reason):
    path = tmp_path / "x.png"
    make(path)
    with pytest.raises(UnreadableImage, match=reason):
        read_image(path)


@pytest.fixture
def photo_jpeg(tmp_path, photo):
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), photo(480, 640), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


@pytest.mark.parametrize(("shrink_to", "decoded"), [
    ((32, 32), (120, 160)),  # 1/4: still twice the size asked for; 1/8 would be 60 rows, below 64
    ((100, 60), (240, 320)),  # 1/2
    ((150, 150), (480, 640)),  # 1/2 would be 240 rows, below 300
    (None, (480, 640)),
])
def test_a_jpeg_is_decoded_smaller_when_it_is_resized_to_far_smaller_next(photo_jpeg, shrink_to, decoded):
    assert read_image(photo_jpeg, shrink_to=shrink_to).shape == (*decoded, 3)


def test_a_jpeg_decoded_smaller_resizes_to_nearly_the_same_pixels(photo_jpeg):
    full = cv2.resize(read_image(photo_jpeg), (32, 32), interpolation=cv2.INTER_AREA).astype(int)
    reduced = cv2.resize(read_image(photo_jpeg, shrink_to=(32, 32)), (32, 32), interpolation=cv2.INTER_AREA)
    difference = np.abs(reduced.astype(int) - full)
    assert difference.mean() < 0.5 and difference.max() <= 6


def test_a_grey_jpeg_stays_grey_when_decoded_smaller(tmp_path, photo):
    path = tmp_path / "grey.jpg"
    cv2.imwrite(str(path), photo(480, 640, channels=1))
    assert read_image(path, shrink_to=(32, 32)).shape == (120, 160, 1)


def test_only_jpegs_are_decoded_smaller(tmp_path, photo):
    """A PNG holds no smaller version: OpenCV would decode it whole and resize it coarsely."""
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), photo(480, 640))
    assert read_image(path, shrink_to=(32, 32)).shape == (480, 640, 3)


def test_jpegs_the_reduced_modes_would_change_are_decoded_as_they_are(photo_jpeg):
    head = bytearray(photo_jpeg.read_bytes()[:4096])
    frame = jpeg_frame(bytes(head))
    assert (frame.width, frame.height, frame.bits, frame.components) == (640, 480, 8, 3)
    assert decode_flags(bytes(head), (32, 32)) != cv2.IMREAD_UNCHANGED
    start = bytes(head).index(b"\xff\xc0")  # baseline start of frame: length, bits, height, width, components
    for offset, value in ((4, 12), (9, 4)):  # 12-bit samples; CMYK
        changed = bytearray(head)
        changed[start + offset] = value
        assert decode_flags(bytes(changed), (32, 32)) == cv2.IMREAD_UNCHANGED


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with an EXIF segment that gives its orientation, as a phone writes one."""
    tiff = b"MM" + struct.pack(">HIH", 42, 8, 1) + struct.pack(">HHIHHI", 0x0112, 3, 1, orientation, 0, 0)
    payload = b"Exif\0\0" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


@pytest.mark.parametrize(("shrink_to", "shape"), [(None, (60, 40)), ((8, 8), (30, 20))])
def test_a_jpeg_stands_as_its_exif_orientation_says(tmp_path, shrink_to, shape):
    """A portrait that a phone stored on its side (orientation 6: turn a quarter clockwise) is read standing."""
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[:10, :20] = (0, 0, 255)  # red, in OpenCV's BGR, at the stored image's top left
    path = tmp_path / "portrait.jpg"
    path.write_bytes(with_exif_orientation(cv2.imencode(".jpg", stored)[1].tobytes(), 6))
    image = read_image(path, shrink_to=shrink_to)
    assert image.shape == (*shape, 3)
    assert image[1, -2].tolist() == pytest.approx([255, 0, 0], abs=30)  # now at the top right
    assert image[1, 1].tolist() == pytest.approx([0, 0, 0], abs=30)


def busy_for(seconds: float) -> None:
    """Take ``seconds`` of this thread's CPU time with the GIL released, as decoding a large file does
    (sleeping takes no CPU time)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        hashlib.sha256(BUSY_WORK).digest()  # hashlib releases the GIL on large buffers


BUSY_WORK = bytes(4 * 1024)


def test_reads_are_timed_by_the_cpu_they_take_not_by_the_time_they_wait():
    """Waiting for the GIL or for a core another program holds says nothing about the files."""
    paths, wait = [f"{i}.png" for i in range(5)], 20 * CHEAP_READ_S
    _, waiting = timed_reads(paths, lambda path: time.sleep(wait))
    _, working = timed_reads(paths, lambda path: busy_for(4 * CHEAP_READ_S))
    assert waiting < wait / 4 and working >= 4 * CHEAP_READ_S


def test_one_read_slowed_by_a_pause_does_not_make_the_files_costly():
    """A garbage collection during one read takes CPU time: the slowest file is left out."""
    paths = [f"{i}.png" for i in range(8)]
    _, seconds_each = timed_reads(paths, lambda path: busy_for(20 * CHEAP_READ_S if path == "3.png" else 0))
    assert seconds_each < CHEAP_READ_S


def test_many_slow_files_are_read_in_order_on_several_threads(tmp_path):
    paths = [tmp_path / f"{i}.png" for i in range(200)]
    threads = set()

    def read(path):
        threads.add(threading.current_thread().name)
        busy_for(4 * CHEAP_READ_S)
        return path.name

    assert read_many(paths, read, workers=3) == [path.name for path in paths]
    assert len({name for name in threads if name.startswith("cvstudio-read")}) > 1


def test_cheap_files_are_read_on_the_calling_thread(red_png, tmp_path):
    """Tiny PNGs decode faster on one thread than on several handing the GIL to each other."""
    paths = [red_png, tmp_path / "missing.png"] * 20

    def read(path):
        try:
            return read_image(path)[0, 0].tolist()
        except UnreadableImage as reason:
            return str(reason)

    expected = [read(path) for path in paths]
    on_threads = []
    assert read_many(paths, lambda path: on_threads.append(threading.current_thread()) or read(path),
                     workers=3) == expected
    assert set(on_threads) == {threading.current_thread()}
