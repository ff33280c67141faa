"""The Inference view: export a run, classify a folder, stream a generated video, report a missing camera."""

from __future__ import annotations

import csv
import time

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from cvstudio.core import inference_jobs
from cvstudio.core.experiment import parse_experiment, run_experiment
from cvstudio.core.tasks import TaskState, drain
from cvstudio.testing import make_tiny_dataset


@pytest.fixture
def trained_run(registry, store):
    """A tiny MLP trained on the bands, saved in the window's runs folder."""
    experiment = parse_experiment({"title": "deploy", "dataset": {"name": "tiny"},
                                   "deep": [{"label": "MLP", "model": "mlp", "epochs": 10, "learning_rate": 0.01,
                                             "device": "cpu"}]}, registry)
    run = store.create(experiment.title)
    drain(run_experiment(experiment, registry, run, TaskState()))
    return run


@pytest.fixture
def panel_with_export(qtbot, make_window, trained_run):
    """The window on its Inference view, the run's network exported from the view and loaded."""
    window = make_window()
    panel = window.inference
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.runs.count() == 1 and "inference-providers" not in window.workers, timeout=20000)
    assert panel.runs.currentText().endswith("MLP")
    assert [panel.providers.itemData(i) for i in range(panel.providers.count())] == ["auto", "cpu", "cuda", "tensorrt"]
    panel.export_button.click()
    qtbot.waitUntil(lambda: panel.predictor is not None, timeout=60000)
    assert (trained_run.path / "exports" / "mlp.onnx").is_file()
    assert "preprocessing from the model's cvstudio metadata" in panel.info.text()
    assert "differ by at most" in panel.compare_label.text()
    assert not panel.form.isEnabled()  # an export's metadata says it all
    return window, panel


def test_before_a_model_the_size_says_it_is_the_models(make_window):
    form = make_window().inference.form
    assert [form.fields[side].text() for side in ("height", "width")] == ["the model's", "the model's"]
    form.set_values({"height": 32})
    assert form.fields["height"].text() == "32" and form.values()["height"] == 32


def test_exporting_before_any_image_says_what_to_do_first(make_window, tmp_path):
    panel = make_window().inference
    assert panel.export_csv(tmp_path / "out.csv") is None and not (tmp_path / "out.csv").exists()
    assert panel.outcome.text() == "No predictions to export yet: drop images or open a folder first."
    assert not panel.outcome.isHidden()


def test_a_mean_longer_than_its_field_shows_its_start(make_window):
    form = make_window().inference.form
    form.set_values({"mean": "0.4913997551666, 0.482158, 0.446531"})
    assert form.fields["mean"].cursorPosition() == 0  # the field scrolls to its cursor: the first channel shows


def write_video(path, colours_per_frame, size=48):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (size, size))
    assert writer.isOpened()
    for image in colours_per_frame:
        writer.write(cv2.resize(image, (size, size), interpolation=cv2.INTER_NEAREST)[..., ::-1].copy())
    writer.release()


def test_a_video_file_plays_through_the_live_view_with_overlay_and_rates(qtbot, panel_with_export, tmp_path):
    window, panel = panel_with_export
    dataset = make_tiny_dataset(seed=3)
    video = tmp_path / "bands.avi"
    write_video(video, [dataset.images[i] for i in range(0, len(dataset), 2)])
    shown = []
    panel.live.frame.setPixmap = lambda pixmap, real=panel.live.frame.setPixmap: (shown.append(pixmap), real(pixmap))
    panel.live.start(video)
    assert panel.live.stop_button.isEnabled()
    qtbot.waitUntil(lambda: panel.live.worker is None, timeout=30000)
    assert not panel.live.stop_button.isEnabled()
    assert shown and not shown[-1].isNull()  # frames were drawn, with the top-k band painted in
    assert "stopped after 18 frames" in panel.live.rate.text()
    assert "FPS" in panel.live.rate.text() and "model latency" in panel.live.rate.text()
    assert not window.banner.isVisible()


def test_a_dropped_folder_is_classified_into_the_table_and_exported_as_csv(qtbot, panel_with_export, tmp_path):
    window, panel = panel_with_export
    dataset = make_tiny_dataset(seed=4)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(0, len(dataset), 4):
        cv2.imwrite(str(folder / f"{i:02d}.png"), dataset.images[i][..., ::-1])
    (folder / "zz-broken.png").write_bytes(b"\x89PNG cut short")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    panel.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                               Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: "inference-images" not in window.workers, timeout=20000)
    assert panel.table.rowCount() == 10 and panel.table.item(9, 1).text() == "unreadable"
    assert panel.table.item(9, 0).text() == "zz-broken.png"
    assert panel.table.item(9, 3).text() == "not a readable image: the file is empty, corrupt or in an unsupported format"
    assert panel.outcome.text().startswith("9 of 10 files classified.\n1 file skipped (not used):\n")
    assert "running on CPUExecutionProvider" in panel.info.text()  # what ran stays in view beside what it gave
    assert panel.outcome.text().endswith(f"{folder / 'zz-broken.png'}: not a readable image: the file is empty, "
                                         "corrupt or in an unsupported format")
    predicted = [panel.table.item(row, 1).text() for row in range(9)]
    truth = [dataset.class_names[dataset.labels[i]] for i in range(0, len(dataset), 4)]
    assert np.mean([p == t for p, t in zip(predicted, truth)]) >= 0.75
    rows = list(csv.DictReader(panel.export_csv(tmp_path / "out.csv").open()))
    assert [r["label1"] for r in rows][:9] == predicted


def write_pngs(folder, count):
    """``count`` of the tiny dataset's images as PNG files named 000.png, 001.png, …"""
    dataset = make_tiny_dataset(seed=5)
    folder.mkdir()
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:03d}.png"), dataset.images[i % len(dataset)][..., ::-1])
    return folder


def test_a_long_folder_can_be_stopped_and_keeps_what_it_classified(qtbot, panel_with_export, tmp_path, monkeypatch):
    window, panel = panel_with_export
    folder = write_pngs(tmp_path / "many", 200)
    read = inference_jobs.read_image

    def slow_disk(path, **how):
        time.sleep(0.01)
        return read(path, **how)

    monkeypatch.setattr(inference_jobs, "read_image", slow_disk)
    panel.predict_paths([folder])
    assert not panel.stop_images.isHidden()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=20000)
    assert panel.table.rowCount() == panel.progress.value()  # each batch's rows appear as it is done
    qtbot.mouseClick(panel.stop_images, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "inference-images" not in window.workers, timeout=20000)
    done = panel.table.rowCount()
    assert 0 < done < 200 and done % 32 == 0  # stopped between batches
    assert [panel.table.item(row, 0).text() for row in range(done)] == [f"{i:03d}.png" for i in range(done)]
    assert panel.outcome.text() == f"Stopped after {done} files: {done} classified."
    assert panel.stop_images.isHidden() and panel.progress.isHidden()
    assert not window.banner.isVisible()


def test_a_folder_stopped_by_an_error_keeps_the_rows_done_and_says_so(qtbot, panel_with_export, tmp_path,
                                                                      monkeypatch):
    window, panel = panel_with_export
    folder = write_pngs(tmp_path / "some", 40)
    run, batches = panel.predictor.run, []

    def broken_on_the_second_batch(batch):
        batches.append(len(batch))
        if len(batches) == 2:
            raise inference_jobs.InferenceError("the model gave not-a-number scores")
        return run(batch)

    monkeypatch.setattr(panel.predictor, "run", broken_on_the_second_batch)
    panel.predict_paths([folder])
    qtbot.waitUntil(lambda: "inference-images" not in window.workers, timeout=20000)
    assert panel.table.rowCount() == 32
    assert panel.outcome.text() == "Stopped by the error above after 32 files: 32 classified."
    assert "not-a-number scores" in window.banner.message.text()


def test_a_folder_without_images_says_what_was_looked_for(qtbot, panel_with_export, tmp_path):
    window, panel = panel_with_export
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    panel.predict_paths([tmp_path / "empty"])
    qtbot.waitUntil(lambda: "inference-images" not in window.workers, timeout=20000)
    assert "no image files in the given files and folders (looked for .png" in window.banner.message.text()
    assert panel.outcome.isHidden() and panel.table.rowCount() == 0 and panel.progress.isHidden()


def test_a_missing_camera_is_shown_as_an_error_and_the_view_keeps_working(qtbot, panel_with_export):
    window, panel = panel_with_export
    panel.live.start(97)
    qtbot.waitUntil(lambda: panel.live.worker is None, timeout=20000)
    assert "camera 97 cannot be opened" in window.banner.message.text()
    assert "Stopped: camera 97" in panel.live.rate.text()
    panel.compare()
    qtbot.waitUntil(lambda: "Batch-1 latency" in panel.compare_label.text(), timeout=30000)
    assert "ONNX Runtime (CPUExecutionProvider)" in panel.compare_label.text()


def test_the_preprocessing_form_says_which_values_a_config_set_and_which_were_guessed(
    qtbot, make_window, one_channel_model
):
    one_channel_model.with_suffix(".preprocess.json").write_text('{"invert": true}')
    window = make_window()
    panel = window.inference
    window.tabs.setCurrentWidget(panel)
    panel.open_model(one_channel_model)
    qtbot.waitUntil(lambda: panel.predictor is not None, timeout=20000)
    form = panel.form
    assert form.isEnabled() and form.values()["invert"] and form.values()["color"] == "grayscale"

    def label(name):
        return form.layout_.labelForField(form.fields[name]).text()

    assert label("invert") == "Invert (from config)"
    assert [label(name) for name in ("color", "layout", "height", "mean")] == [
        "Color (guessed)", "Layout (guessed)", "Height (guessed)", "Mean (guessed)"]
    assert "invert from strokes.preprocess.json; the rest guessed from the input" in panel.info.text()

    form.fields["mean"].setText("0.5")
    panel.save_config.click()  # the whole form is saved: every value now comes from the file
    assert all(label(name).endswith("(from config)") for name in form.fields)
    assert "Saved as strokes.preprocess.json" in panel.info.text()
