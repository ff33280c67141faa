"""The window's public API: its signals, state and methods, as plugin panels and tests use them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QImage

from cvstudio import ModelSpec, hookimpl
from cvstudio.core.runs import Run
from cvstudio.qt.main_window import VIEWS
from cvstudio.testing import run_to_end, tiny_experiment, write_tiny_experiment


class UnbuildableModels:
    @hookimpl
    def cvstudio_register_models(self):
        return [ModelSpec(name="unbuildable", description="Fails when built.", factory=_unbuildable)]


def _unbuildable(in_channels, image_size, num_classes):
    raise RuntimeError("this network cannot be built")


def test_dataset_loaded_brings_the_dataset_shown(qtbot, make_window):
    window = make_window()
    window.dataset_panel.picker.form.fields["classes"].setValue(4)
    with qtbot.waitSignal(window.dataset_loaded, timeout=20000) as loaded:
        window.load_dataset()
    assert loaded.args[0] is window.dataset and window.dataset.num_classes == 4


def test_a_run_signals_its_start_each_epoch_and_its_end(qtbot, make_window):
    window = make_window(epochs=2)
    epochs = []
    window.epoch_finished.connect(lambda pipeline, metrics: epochs.append((pipeline, metrics)))
    with qtbot.waitSignal(window.run_started) as started:
        window.run()
    assert window.is_running
    runs = started.args[0]
    assert runs == list(window.runs.values()) and all(isinstance(run, Run) for run in runs)
    assert {run.path.parent for run in runs} == {window.runs_dir}
    with qtbot.waitSignal(window.run_finished, timeout=60000) as finished:
        pass
    assert finished.args == ["completed", runs] and not window.is_running
    assert [(p, m["epoch"]) for p, m in epochs] == [("CNN", 1), ("CNN", 2)]
    saved = [r for r in window.runs["deep"].metrics() if r["kind"] == "epoch"]
    assert [m["val_accuracy"] for _, m in epochs] == [r["val_accuracy"] for r in saved]


def test_a_cancelled_run_finishes_as_cancelled(qtbot, make_window):
    window = make_window(epochs=500)
    with qtbot.waitSignal(window.epoch_finished, timeout=30000):
        window.run()
    with qtbot.waitSignal(window.run_finished, timeout=30000) as finished:
        window.cancel()
    assert finished.args[0] == "cancelled"
    assert window.runs["deep"].status == "cancelled"


def test_a_run_whose_network_fails_finishes_as_failed(qtbot, make_window, registry_with):
    window = make_window(registry=registry_with(UnbuildableModels()))
    model = window.pipelines.deep.editors[0].model
    model.combo.setCurrentIndex(model.combo.findData("unbuildable"))
    with qtbot.waitSignal(window.run_finished, timeout=60000) as finished:
        window.run()
    assert finished.args[0] == "failed"
    assert window.runs["deep"].status == "failed" and window.runs["classical"].status == "completed"


def test_closing_mid_training_finishes_the_run_as_cancelled(qtbot, make_window):
    window = make_window(epochs=500)
    with qtbot.waitSignal(window.epoch_finished, timeout=30000):
        window.run()
    with qtbot.waitSignal(window.run_finished, timeout=1000) as finished:
        window.close()
    assert finished.args[0] == "cancelled" and window.runs["deep"].status == "cancelled"


def test_a_study_signals_each_point(qtbot, make_window, tmp_path):
    path = write_tiny_experiment(tmp_path / "scaling.toml", title="Tiny scaling", study="scaling",
                                 dataset={"name": "tiny", "params": {"per_class": 16}},
                                 deep=[{"label": "MLP", "model": "mlp"}], epochs=1)
    window = make_window(path=path)
    points = []
    window.study_point.connect(lambda kind, point: points.append((kind, point)))
    with qtbot.waitSignal(window.run_finished, timeout=120000) as finished:
        window.run()
    assert finished.args[0] == "completed"
    scaling = [point for kind, point in points if type(point).__name__ == "ScalingPoint"]
    assert {kind for kind, _ in points} == {"scaling"}
    assert len(scaling) == 2 * 2 * 2  # pipelines × sizes × seeds
    assert len(window.study_view.points) == len(scaling)


def test_show_view_by_name_and_a_screenshot_of_it(qtbot, make_window, tmp_path):
    window = make_window()
    assert list(window.views()) == [name for name in VIEWS if name != "study"]
    for name in window.views():
        assert window.show_view(name) is window.tabs.currentWidget()
    with pytest.raises(ValueError, match="No view called 'nope': choose one of dataset, pipelines"):
        window.show_view("nope")
    path = window.screenshot(tmp_path / "results.png", view="results")
    assert window.tabs.currentWidget() is window.results
    image = QImage(str(path))
    assert image.width() == window.width() and image.height() == window.height()
    assert list(tmp_path.glob(".*partial*")) == []
    with pytest.raises(OSError, match="Cannot write the screenshot"):
        window.screenshot(tmp_path / "missing" / "shot.png")


def test_open_file_switches_the_experiment(qtbot, make_window, lesson):
    window = make_window()
    with qtbot.waitSignal(window.dataset_loaded, timeout=20000):
        window.open_file(lesson(epochs=3, per_class=8))
    assert window.experiment_state()["deep"][0]["epochs"] == 3 and len(window.dataset) == 24


def test_the_fixture_s_window_is_active_so_its_window_shortcuts_work(qtbot, cvstudio_main_window):
    window = cvstudio_main_window(experiment=tiny_experiment(), wait_ready=True)
    assert window.isActiveWindow()
    for name in ("run-action", "cancel-action"):  # fire in the active window only, not in another app's
        assert window.findChild(QAction, name).shortcutContext() == Qt.ShortcutContext.WindowShortcut
    with qtbot.waitSignal(window.run_started):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    with qtbot.waitSignal(window.run_finished, timeout=60000):
        qtbot.keyClick(window, Qt.Key.Key_Period, Qt.KeyboardModifier.ControlModifier)


def test_run_to_end_returns_the_runs_or_says_why_it_could_not_run(qtbot, cvstudio_main_window):
    window = cvstudio_main_window(experiment=tiny_experiment(), wait_ready=True)
    runs = run_to_end(window, timeout=120)
    assert [run.status for run in runs] == ["completed", "completed"]
    assert cvstudio_main_window.runs_dir == window.runs_dir and all(run.path.parent == window.runs_dir for run in runs)
    state = window.experiment_state()
    state["classical"], state["deep"] = [], []
    window.set_experiment(state)
    with pytest.raises(RuntimeError, match="The run did not start: Cannot run"):
        run_to_end(window)
