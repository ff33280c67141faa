import numpy as np
import pytest

from cvstudio.core.data import DatasetError, ImageDataset, SkippedFile, describe_skipped, stratified_split


def test_split_is_stratified_disjoint_and_deterministic():
    labels = np.repeat(np.arange(4), [40, 20, 20, 100])
    split = stratified_split(labels, 0.2, 0.1, seed=3)
    everything = np.concatenate([split.train, split.val, split.test])
    assert sorted(everything) == list(range(len(labels)))
    for part in (split.val, split.test):
        counts = np.bincount(labels[part], minlength=4)
        assert all(counts >= 1)
    assert np.bincount(labels[split.val], minlength=4).tolist() == [8, 4, 4, 20]
    again = stratified_split(labels, 0.2, 0.1, seed=3)
    assert np.array_equal(split.train, again.train) and np.array_equal(split.test, again.test)
    other = stratified_split(labels, 0.2, 0.1, seed=4)
    assert not np.array_equal(split.test, other.test)


def test_split_rejects_tiny_classes_and_bad_fractions():
    with pytest.raises(DatasetError, match="class 1 has only 2 images"):
        stratified_split(np.array([0, 0, 0, 0, 1, 1]), 0.2, 0.2)
    with pytest.raises(DatasetError, match="sum below 1"):
        stratified_split(np.arange(10), 0.6, 0.5)


def test_dataset_validation_messages():
    images = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(DatasetError, match="must be uint8"):
        ImageDataset("d", images.astype(np.float32), [0, 1, 0, 1], ("a", "b"))
    with pytest.raises(DatasetError, match="class c has no images"):
        ImageDataset("d", images, [0, 1, 0, 1], ("a", "b", "c"))
    with pytest.raises(DatasetError, match="at least two classes"):
        ImageDataset("d", images, [0, 0, 0, 0], ("a",))
    gray = ImageDataset("d", np.zeros((4, 8, 8), np.uint8), [0, 1, 0, 1], ("a", "b"))
    assert gray.channels == 1 and gray.image_size == (8, 8)


def test_skipped_files_are_counted_the_first_few_named_with_their_reason():
    assert describe_skipped([]) == ""
    one = [SkippedFile("cat/a.png", "cannot be decoded: bad CRC")]
    assert describe_skipped(one) == "1 file skipped (not used):\n  cat/a.png: cannot be decoded: bad CRC"
    many = [SkippedFile(f"dog/{i}.jpg", "not a readable image") for i in range(7)]
    lines = describe_skipped(many, named=2).splitlines()
    assert lines == ["7 files skipped (not used):", "  dog/0.jpg: not a readable image",
                     "  dog/1.jpg: not a readable image", "  … and 5 more"]
