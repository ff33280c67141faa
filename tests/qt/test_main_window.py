"""The main flow: open, load data, run both sides, watch curves and activations, read the results."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from cvstudio.core.checkpoints import CheckpointMaps
from cvstudio.core.training import EpochEnd
from cvstudio.qt.images import activation_mosaic
from cvstudio.qt.panels.features import NO_NETWORK


def test_window_opens_on_the_lesson_with_a_sample_grid(make_window):
    window = make_window()
    panel = window.dataset_panel
    assert "3 classes" in panel.info.text() and "16×16×3" in panel.info.text()
    assert "train 18, val 9, test 9" in panel.info.text()
    rows = {panel.grid.getItemPosition(i)[0] for i in range(panel.grid.count())}
    assert rows == {0, 1, 2}
    assert len(panel.thumbnails) == 30  # ten samples for each of three classes
    state = window.experiment_state()
    assert state["dataset"]["name"] == "tiny" and state["deep"][0]["epochs"] == 2
    assert state["classical"][0]["label"] == "Moments + logistic"
    assert window.windowTitle() == "cvstudio — Tiny lesson"


def test_a_clicked_image_is_explained_in_the_features_view_once_it_is_shown(qtbot, make_window):
    window = make_window()
    thumbnail = next(iter(window.dataset_panel.thumbnails.values()))
    qtbot.mouseClick(thumbnail, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "explain" not in window.workers, timeout=20000)
    window.pull()
    card = window.features.cards["color-moments"]
    assert card.picture is None and "color-moments" in window.features.explanations  # kept, no plots built
    window.tabs.setCurrentWidget(window.features)
    window.pull()
    assert window.features.explanations == {} and card.bars_plot is not None
    assert card.caption.text() not in ("computing…", "") and card.bars_plot.isVisible()
    assert f"#{thumbnail.index}" in window.features.image.label.text


def test_the_features_view_shows_the_cnn_maps_of_the_image_it_explains(qtbot, make_window, wait_for_run):
    window = make_window(epochs=1)
    thumbnails = list(window.dataset_panel.thumbnails.values())
    first, second = thumbnails[4], thumbnails[17]
    qtbot.mouseClick(first, Qt.MouseButton.LeftButton)
    assert window.features.cnn.label.text == NO_NETWORK and "network-maps" not in window.workers
    window.run()
    wait_for_run(window)
    window.tabs.setCurrentWidget(window.features)
    window.pull()
    features = window.features
    image_title = f"Image #{first.index} ("
    assert image_title in features.image.label.text and image_title in features.cnn.label.text
    assert window.activations.snapshot.probe_index == first.index  # the Activations view follows the choice too

    qtbot.mouseClick(second, Qt.MouseButton.LeftButton)  # after the run: from the run's checkpoint
    window.pull()
    assert f"computing its maps of Image #{second.index} (" in features.cnn.label.text
    qtbot.waitUntil(lambda: "network-maps" not in window.workers, timeout=20000)
    window.pull()
    image_title = f"Image #{second.index} ("
    assert image_title in features.image.label.text and image_title in features.cnn.label.text
    assert "epoch 1" in features.cnn.label.text
    expected = CheckpointMaps(window.runs["deep"].checkpoint_path("CNN"), "CNN", window.registry,
                              window.dataset).snapshot(second.index)
    layer, activation = next(iter(expected.activations.items()))
    assert f"'{layer}'" in features.cnn.label.text
    assert np.allclose(features.cnn.item.image, activation_mosaic(activation), atol=1e-5)


def test_after_a_cancelled_training_the_features_view_does_not_wait_for_maps(qtbot, make_window, wait_for_run):
    window = make_window(epochs=50)
    window.run()
    qtbot.waitUntil(lambda: window.activations.snapshot is not None, timeout=30000)
    window.cancel()
    wait_for_run(window)
    window.tabs.setCurrentWidget(window.features)
    qtbot.mouseClick(list(window.dataset_panel.thumbnails.values())[9], Qt.MouseButton.LeftButton)
    window.pull()
    assert window.features.cnn.label.text == NO_NETWORK and "network-maps" not in window.workers


def test_the_window_is_shown_before_torch_is_imported(lesson, tmp_path):
    script = f"""
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from cvstudio.plugins import load_registry
from cvstudio.qt.main_window import MainWindow
from cvstudio.qt.settings import open_settings
window = MainWindow(load_registry(autoload=False), Path({str(lesson())!r}), open_settings(Path({str(tmp_path / 's.ini')!r})))
window.show()
print("torch" in sys.modules)
window.close()
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr


def test_switching_dataset_and_model_rebuilds_the_forms(qtbot, make_window):
    window = make_window()
    picker = window.dataset_panel.picker
    picker.combo.setCurrentIndex(picker.combo.findData("tiny-gray"))
    qtbot.waitUntil(lambda: window.dataset is not None and window.dataset.channels == 1, timeout=20000)
    assert "channels" not in picker.form.fields
    picker.form.fields["classes"].setValue(4)
    window.dataset_panel.load_button.click()
    qtbot.waitUntil(lambda: window.dataset.num_classes == 4, timeout=20000)
    assert "4 classes" in window.dataset_panel.info.text()

    model = window.pipelines.deep.editors[0].model
    model.combo.setCurrentIndex(model.combo.findData("mlp"))
    assert {"hidden", "layers", "dropout"} <= set(model.form.fields)
    model.form.fields["hidden"].setValue(32)
    deep = window.experiment_state()["deep"][0]
    assert deep["model"] == {"name": "mlp", "params": {"hidden": 32, "layers": 2, "dropout": 0.2}}


def test_a_run_draws_the_engine_curves_reference_lines_activations_and_results(
    qtbot, make_window, store, wait_for_run
):
    window = make_window(epochs=3, per_class=24)
    snapshots = []
    on_snapshot = window.activations.on_snapshot
    window.activations.on_snapshot = lambda s: (snapshots.append(s), on_snapshot(s))
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert not window.run_action.isEnabled() and window.cancel_action.isEnabled()
    wait_for_run(window)
    window.pull()

    deep_run, classical_run = window.runs["deep"], window.runs["classical"]
    assert deep_run.status == classical_run.status == "completed"
    epochs = [r for r in deep_run.metrics() if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2, 3]
    for name in ("val_accuracy", "train_accuracy", "val_loss", "train_loss"):
        x, y = window.training.curves[name].getData()
        assert list(x) == [1, 2, 3]
        assert np.allclose(y, [r[name] for r in epochs])
    batches = window.training.curves["batch_loss"].getData()[0]
    assert len(batches) == 3 * 5 and batches[-1] == 3.0  # 36 training images: 5 batches of at most 8

    final = next(r for r in classical_run.metrics() if r.get("pipeline") == "Moments + logistic")
    line = window.training.references["Moments + logistic"]
    assert line.value() == final["val_accuracy"]
    assert "Moments + logistic" in line.label.toPlainText()

    assert len(snapshots) >= 4 and window.activations.frames == 0  # hidden behind the Training view
    window.tabs.setCurrentWidget(window.activations)
    assert window.activations.frames == 1
    layer = window.activations.layer.currentText()
    shown = window.activations.maps.item.image
    assert np.array_equal(shown, activation_mosaic(snapshots[-1].activations[layer]))
    assert not np.array_equal(shown, activation_mosaic(snapshots[0].activations[layer]))
    assert window.activations.filters.item.image is not None

    results = window.results
    assert set(results.evaluations) == {"Moments + logistic", "CNN"}
    assert results.right.picker.currentText() == "CNN"
    test_size = 18  # a quarter of 72 images
    assert sum(int(results.right.table.item(t, p).text()) for t in range(3) for p in range(3)) == test_size
    results.right.table.cellClicked.emit(0, 0)
    evaluation = results.evaluations["CNN"]
    assert results.gallery.count() == len(evaluation.cell(0, 0))
    if results.gallery.count() > 1:
        confidences = [float(results.gallery.item(i).text().rstrip("%")) for i in range(results.gallery.count())]
        assert confidences == sorted(confidences, reverse=True)
    assert results.metrics.rowCount() == 3 and results.metrics.columnCount() == 6

    assert {r.id for r in store.runs()} == {deep_run.id, classical_run.id}
    assert window.runs_panel.tree.topLevelItemCount() == 2
    assert window.run_action.isEnabled() and not window.cancel_action.isEnabled()
    assert window.statusBar().currentMessage() == "Run finished; saved in the Runs view."


def test_cancel_stops_the_run_and_keeps_it(qtbot, make_window, wait_for_run):
    window = make_window(epochs=500)
    window.run_action.trigger()
    qtbot.waitUntil(lambda: len(window.training.series["val_accuracy"].x) >= 1, timeout=30000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    wait_for_run(window, timeout=30000)
    assert window.runs["deep"].status == "cancelled"
    epochs = len([r for r in window.runs["deep"].metrics() if r["kind"] == "epoch"])
    assert 1 <= epochs < 500
    assert "cancelled" in window.training.deep.detail.text()
    assert window.statusBar().currentMessage().startswith("Run cancelled")
    assert window.run_action.isEnabled()


def test_closing_during_training_cancels_and_waits(qtbot, make_window):
    window = make_window(epochs=500)
    window.run_action.trigger()
    qtbot.waitUntil(lambda: len(window.training.series["batch_loss"].x) >= 1, timeout=30000)
    run = window.runs["deep"]
    window.close()
    assert run.status == "cancelled"
    assert not window.workers
    # the autouse fixture checks that no QThread or thread is left running


def test_reopening_a_run_shows_its_curves_and_results(qtbot, make_window, wait_for_run):
    window = make_window()
    window.run()
    wait_for_run(window)
    deep_run = window.runs["deep"]
    window.training.reset()
    window.results.clear()
    window.runs_panel.refresh()
    item = next(window.runs_panel.tree.topLevelItem(i) for i in range(window.runs_panel.tree.topLevelItemCount())
                if window.runs_panel.tree.topLevelItem(i).text(0) == deep_run.id)
    window.runs_panel.tree.itemDoubleClicked.emit(item, 0)
    epochs = [EpochEnd(**{k: r[k] for k in EpochEnd.__dataclass_fields__})
              for r in deep_run.metrics() if r["kind"] == "epoch"]
    window.training.refresh()
    assert np.allclose(window.training.curves["val_accuracy"].getData()[1], [e.val_accuracy for e in epochs])
    assert set(window.results.evaluations) == {"CNN"}
    assert window.tabs.currentWidget() is window.training


def test_every_network_of_the_experiment_is_edited_and_trained_in_turn(qtbot, make_window, wait_for_run):
    window = make_window(epochs=1)
    networks = window.pipelines.deep
    first = networks.editors[0].state().get("label")
    networks.add({"label": "Second MLP", "model": {"name": "mlp", "params": {"hidden": 16}}, "epochs": 1})
    assert [e.state().get("label") for e in networks.editors] == [first, "Second MLP"]
    assert window.experiment_state()["deep"][1]["model"]["params"]["hidden"] == 16

    window.run()
    wait_for_run(window)
    summary = window.runs["deep"].read("summary.json")
    assert summary["status"] == "completed" and "Second MLP" in summary["pipelines"]
    first_label = next(label for label in summary["pipelines"] if label != "Second MLP")
    # the first network's result stays on the plot as a line while the second one's curves are drawn
    assert first_label in window.training.references
    assert window.training.series["val_accuracy"].x == [1]

    remove = [b for b in networks.editors[0].findChildren(QPushButton) if b.text() == "Remove"][0]
    remove.click()
    assert [d.get("label") for d in window.experiment_state()["deep"]] == ["Second MLP"]
    networks.editors[0].removed.emit(networks.editors[0])
    assert window.experiment_state()["deep"] == []


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_ctrl_c_sigterm_and_sighup_close_the_window_as_a_close_would(qtbot, make_window, signal_name):
    import os
    import signal

    from cvstudio.qt.app import closing_on_signals

    window = make_window(epochs=500)
    window.run_action.trigger()
    qtbot.waitUntil(lambda: len(window.training.series["batch_loss"].x) >= 1, timeout=30000)
    run = window.runs["deep"]
    with closing_on_signals(window):
        os.kill(os.getpid(), getattr(signal, signal_name))
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    assert run.status == "cancelled" and not window.workers


def test_the_window_fits_a_1280_pixel_wide_screen_whichever_view_is_shown(cvstudio_main_window, qtbot):
    from cvstudio.core.lessons import default_course

    window = cvstudio_main_window(experiment=default_course(), wait_ready=True)  # as the app opens: the Lesson beside
    assert window.lesson_dock.isVisible()
    long_id = "20261129-150027-" + "a-long-experiment-title-" * 5  # run ids grow with their experiment's title
    for name in window.views():
        window.show_view(name)
        qtbot.wait(50)
        if name == "inference":  # the pickers are filled when the view is shown: long names now
            window.inference.runs.addItem(f"{long_id} — LeNet-5", None)
            window.inference.models.addItem(f"{long_id}.onnx", f"/elsewhere/{long_id}.onnx")
            assert window.inference.models.toolTip().endswith(f"\n{long_id}.onnx")  # the whole name, elided above
        assert window.minimumSizeHint().width() < 1280, f"the {name} view needs a wider window"


def test_the_window_opens_no_larger_than_the_screen(make_window):
    window = make_window()
    free, needed = window.screen().availableGeometry().size(), window.minimumSizeHint()
    assert window.width() <= max(free.width(), needed.width())  # the test screen is smaller than 1500×950
    assert window.height() <= max(free.height(), needed.height())
