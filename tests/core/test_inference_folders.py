"""Folder prediction: parallel, batched and streamed, with the same answers as one image at a time."""

import itertools
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from onnx import TensorProto, helper

from cvstudio.core import inference_jobs
from cvstudio.core.image_files import CHEAP_READ_S, UnreadableImage, read_image
from cvstudio.core.inference import Predictor
from cvstudio.core.inference_jobs import (
    CsvWriter,
    FileResult,
    count_images,
    iter_images,
    list_images,
    predict_files,
    predict_stream,
)
from cvstudio.core.tasks import TaskState, drain

from test_image_files import busy_for
from test_inference import save_model


def mean_colour_model(path, batch="n"):
    """NHWC uint8 8×8 input; the scores are the channels' mean brightness (logits)."""
    pixels = helper.make_tensor_value_info("pixels", TensorProto.UINT8, [batch, 8, 8, 3])
    nodes = [helper.make_node("Cast", ["pixels"], ["as float"], to=TensorProto.FLOAT),
             helper.make_node("Div", ["as float", "ten"], ["scaled"]),
             helper.make_node("ReduceMean", ["scaled"], ["scores/out"], axes=[1, 2], keepdims=0)]
    graph_path = save_model(path, [pixels], nodes, output_shape=(batch, 3))
    # a constant divisor keeps the softmax away from 0 and 1, so small differences show
    import onnx

    model = onnx.load(graph_path)
    model.graph.initializer.append(helper.make_tensor("ten", TensorProto.FLOAT, [], [10.0]))
    onnx.save(model, graph_path)
    (path.parent / f"{path.stem}.labels.txt").write_text("red\ngreen\nblue\n")
    return graph_path


@pytest.fixture
def folder(tmp_path):
    """60 images of mixed sizes, colours and formats in nested folders, with broken files among them."""
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for i in range(60):
        where = root / ("" if i % 3 else f"sub{i % 4}")
        where.mkdir(parents=True, exist_ok=True)
        name = where / f"{i:03d}.{'png' if i % 2 else 'bmp'}"
        if i % 13 == 5:
            name.write_bytes(b"not an image")
            continue
        size = int(rng.integers(4, 40))
        cv2.imwrite(str(name), rng.integers(0, 256, (size, size + i % 5, 3), dtype=np.uint8))
    (root / "notes.txt").write_text("not an image, not listed")
    return root


def same(results, expected):
    """Same files, order, labels and errors; probabilities equal up to float rounding (batched kernels)."""
    assert [(r.path, r.error) for r in results] == [(path, error) for path, _, error in expected]
    for result, (_, prediction, _) in zip(results, expected):
        if prediction is None:
            assert result.prediction is None
        else:
            assert [label for label, _ in result.prediction.top] == [label for label, _ in prediction.top]
            assert [p for _, p in result.prediction.top] == pytest.approx([p for _, p in prediction.top], abs=1e-5)
    return True


def sequential(predictor, paths, topk):
    """The reference: one file at a time, nothing in parallel."""
    results = []
    for path in paths:
        try:
            image = read_image(path)
        except UnreadableImage as reason:
            results.append((path, None, str(reason)))
            continue
        (prediction,) = predictor.predict([image], topk)
        results.append((path, prediction, None))
    return results


@pytest.mark.parametrize("batch_size,workers", [(1, 1), (7, 2), (32, 3)])
def test_parallel_batched_prediction_matches_one_file_at_a_time(tmp_path, folder, batch_size, workers):
    predictor = Predictor(mean_colour_model(tmp_path / "colour.onnx"), provider="cpu")
    paths = list_images([folder])
    assert len(paths) == 60
    expected = sequential(predictor, paths, topk=3)
    got = list(predict_stream(predictor, paths, TaskState(), topk=3, batch_size=batch_size, workers=workers))
    assert same(got, expected)
    assert sum(r.error is not None for r in got) == 5 and all("not a readable image" in r.error
                                                              for r in got if r.error)


def test_photographs_are_decoded_at_a_size_near_the_models_with_nearly_the_same_answers(tmp_path, monkeypatch,
                                                                                        photo):
    predictor = Predictor(mean_colour_model(tmp_path / "colour.onnx"), provider="cpu")  # 8×8 input
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(6):
        cv2.imwrite(str(photos / f"{i}.jpg"), np.roll(photo(480, 640), 40 * i, axis=1))
    decoded = []

    def spied(path, bgr=False, shrink_to=None):
        decoded.append(image := read_image(path, bgr, shrink_to))
        return image

    monkeypatch.setattr(inference_jobs, "read_image", spied)
    got = list(predict_stream(predictor, list_images([photos]), TaskState(), topk=3, batch_size=4))
    assert [image.shape for image in decoded] == [(60, 80, 3)] * 6  # 1/8, the least libjpeg decodes
    for result, (_, full, _) in zip(got, sequential(predictor, list_images([photos]), topk=3)):
        assert dict(result.prediction.top) == pytest.approx(dict(full.top), abs=5e-3)


@pytest.mark.parametrize("read_cpu_s,model_s,batch_size,readers", [
    (0.5 * CHEAP_READ_S, 0, 16, 0),  # cheap files, a model faster than reading them: all on one thread
    (4 * CHEAP_READ_S, 0, 4, 3),  # files costly to decode: a thread per core
    (0, 0.005, 4, 1),  # cheap files for a slow model: one thread reads while the model runs
])
def test_threads_read_ahead_of_the_model_only_where_they_pay(tmp_path, folder, monkeypatch, read_cpu_s, model_s,
                                                             batch_size, readers):
    """Threads reading beside the model would spend their time taking the GIL back from it, unless decoding
    or the model leaves it free long enough. The first batches are read where the model runs: they tell
    which it is."""
    predictor = Predictor(mean_colour_model(tmp_path / "colour.onnx"), provider="cpu")
    paths = list_images([folder])
    decoded = {path: error or read_image(path) for path, _, error in sequential(predictor, paths, topk=1)}
    seen = set()

    def read(path, shrink_to=None):  # the files decoded once already, taking the CPU time asked for
        seen.add(threading.current_thread().name)
        busy_for(read_cpu_s)
        if isinstance(decoded[path], str):
            raise UnreadableImage(decoded[path])
        return decoded[path]

    def model(batch):  # what the model computes, in numpy, as slow as asked for and no slower
        time.sleep(model_s)
        logits = batch.mean(axis=(1, 2), dtype=np.float32) / 10
        exp = np.exp(logits - logits.max(1, keepdims=True))
        return exp / exp.sum(1, keepdims=True)

    monkeypatch.setattr(inference_jobs, "read_image", read)
    monkeypatch.setattr(predictor, "run", model)
    got = list(predict_stream(predictor, paths, TaskState(), topk=3, batch_size=batch_size, workers=3))
    assert same(got, sequential(Predictor(predictor.path, provider="cpu"), paths, topk=3))
    assert threading.current_thread().name in seen
    assert len(seen - {threading.current_thread().name}) == readers


@pytest.mark.parametrize("read_cpu_s,model_s,workers,readers", [
    (CHEAP_READ_S, 0, 4, 4), (CHEAP_READ_S, 1.0, 4, 4), (0.9 * CHEAP_READ_S, 32 * CHEAP_READ_S, 4, 1),
    (0.9 * CHEAP_READ_S, 0.9 * 32 * 0.9 * CHEAP_READ_S, 4, 0), (1.0, 1.0, 1, 0),
])
def test_readers_that_pay_are_judged_from_a_batch_of_32(read_cpu_s, model_s, workers, readers):
    batch = inference_jobs._PreparedBatch([Path(f"{i}.png") for i in range(32)], [None] * 32, None, read_cpu_s)
    assert inference_jobs._readers_that_pay(batch, model_s, workers) == readers


def test_a_fixed_batch_model_gets_full_batches_and_the_same_answers(tmp_path, folder):
    predictor = Predictor(mean_colour_model(tmp_path / "fixed.onnx", batch=4), provider="cpu")
    assert predictor.input.max_batch == 4
    paths = list_images([folder])[:11]  # two full batches and a short last one, padded for the model
    got = list(predict_stream(predictor, paths, TaskState(), topk=2, batch_size=32))
    assert same(got, sequential(predictor, paths, topk=2))


def test_a_huge_folder_is_streamed_not_loaded(tmp_path, folder):
    """An endless stream of paths: results come out while only a bounded number of paths were taken."""
    predictor = Predictor(mean_colour_model(tmp_path / "colour.onnx"), provider="cpu")
    paths = list_images([folder])
    taken = []
    endless = (taken.append(p) or p for p in itertools.cycle(paths))
    stream = predict_stream(predictor, endless, TaskState(), topk=1, batch_size=8, workers=2)
    first = list(itertools.islice(stream, 100))
    assert [r.path for r in first] == (paths * 2)[:100]
    assert len(taken) <= 100 + 2 * 8 + 2 * 2 * 8  # what was returned, two batches, a chunk per thread twice
    stream.close()  # the pool is shut down: no thread keeps reading


def test_cancelling_stops_between_batches_and_keeps_what_was_classified(tmp_path, folder):
    predictor = Predictor(mean_colour_model(tmp_path / "colour.onnx"), provider="cpu")
    paths, state = list_images([folder]), TaskState()
    events = predict_files(predictor, paths, state, batch_size=4)
    shown, progress = next(events), next(events)
    assert (progress.done, progress.total) == (4, 60)
    state.cancel()
    assert drain(events) == ([], predict_files_done(predictor, paths[:4]))
    assert list(shown.results) == predict_files_done(predictor, paths[:4])
    assert state.cancelled


def predict_files_done(predictor, paths):
    return drain(predict_files(predictor, paths, TaskState(), batch_size=4))[1]


def test_folders_are_walked_in_sorted_path_order_without_following_folder_links(tmp_path):
    root = tmp_path / "walk"
    for name in ("a/b.png", "a.png", "a b/c.jpg", "B.PNG", "a/z/y.webp", "a/.hidden/x.png", "a/readme.md"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    (root / "a" / "loop").symlink_to(root, target_is_directory=True)
    expected = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() != ".md")
    assert list(iter_images([root])) == expected
    assert count_images([root]) == len(expected) == 6


def test_the_csv_is_written_whole_or_not_at_all(tmp_path):
    table = tmp_path / "out.csv"
    result = FileResult(tmp_path / "x.png", None, "broken")
    with pytest.raises(KeyboardInterrupt):
        with CsvWriter(table, topk=2) as writer:
            writer.write(result)
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []  # neither the table nor its temporary file
    with CsvWriter(table, topk=2) as writer:
        writer.write(result)
    assert table.read_text().splitlines()[1] == f"{tmp_path / 'x.png'},,,,,broken"


def test_top_of_a_batch_is_top_of_each_row_ties_in_class_order(tmp_path):
    predictor = Predictor(mean_colour_model(tmp_path / "colour.onnx"), provider="cpu")
    scores = np.array([[0.2, 0.5, 0.3], [0.4, 0.2, 0.4], [1 / 3, 1 / 3, 1 / 3]], np.float32)
    for k in (1, 2, 3, 5):
        assert predictor.top_batch(scores, k) == [predictor.top(row, k) for row in scores]
