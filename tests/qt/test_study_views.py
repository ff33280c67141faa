"""Study experiments in the window: the Study tab, live points and tables, saved runs shown again."""

from __future__ import annotations

import numpy as np
import pytest

from cvstudio.qt.panels.architectures import ArchitecturesView
from cvstudio.qt.panels.hardware import HardwareView
from cvstudio.qt.panels.scaling import ScalingView
from cvstudio.testing import write_tiny_experiment

MLP, LENET = {"label": "MLP", "model": "mlp"}, {"label": "LeNet-5", "model": "lenet5"}
STUDIES = {  # each kind's pipelines, on the tiny bands, 16 of each
    "scaling": {"title": "Tiny scaling", "deep": [MLP]},
    "architectures": {"title": "Tiny architectures", "classical": None, "deep": [MLP, LENET]},
    "hardware": {"title": "Tiny hardware", "classical": None, "deep": [LENET]},
}


@pytest.fixture
def study_window(make_window, tmp_path):
    def make(kind: str):
        path = write_tiny_experiment(tmp_path / f"{kind}.toml", study=kind, epochs=1,
                                     dataset={"name": "tiny", "params": {"per_class": 16}}, **STUDIES[kind])
        return make_window(path=path)

    return make


def run_study(qtbot, window) -> None:
    window.run_action.trigger()
    qtbot.waitUntil(lambda: "study" in window.runs and "study" not in window.workers, timeout=120000)
    window.pull()


def test_a_scaling_study_draws_a_curve_per_pipeline_as_points_arrive(qtbot, study_window):
    window = study_window("scaling")
    view = window.study_view
    assert isinstance(view, ScalingView) and window.tabs.tabText(window.tabs.indexOf(view)) == "Study"
    run_study(qtbot, window)
    assert window.tabs.currentWidget() is view
    assert window.runs["study"].status == "completed"
    assert set(view.curves) == {"Moments + logistic", "MLP"}
    x, y = view.curves["MLP"].line.getData()
    assert np.allclose(10 ** np.asarray(x), [2, 6])  # log-scale axis
    summary = window.runs["study"].read("summary.json")
    assert np.allclose(y, summary["curves"]["MLP"]["mean"])
    dots_x, _ = view.curves["MLP"].dots.getData()
    assert len(dots_x) == 4  # two sizes × two seeds, one dot each
    assert view.chance.isVisible() and view.chance.value() == pytest.approx(1 / 3)
    assert "8/8" in view.status.text()
    assert not window.training.series["val_accuracy"].x  # the sweep keeps out of the Training view


def test_a_saved_scaling_run_is_shown_again_from_the_runs_view(qtbot, study_window):
    window = study_window("scaling")
    run_study(qtbot, window)
    run = window.runs["study"]
    window.study_view.reset()
    assert not window.study_view.points
    window.open_run(run)
    assert window.tabs.currentWidget() is window.study_view
    window.study_view.refresh()
    assert set(window.study_view.curves) == {"Moments + logistic", "MLP"}
    assert len(window.study_view.points) == 8


def test_an_architectures_study_fills_the_table_plot_and_history(qtbot, study_window):
    window = study_window("architectures")
    view = window.study_view
    assert isinstance(view, ArchitecturesView)
    run_study(qtbot, window)
    view.refresh()
    assert view.table.rowCount() == 2
    assert [view.table.item(r, 0).text() for r in range(2)] == ["MLP", "LeNet-5"]
    assert view.table.item(1, 1).text() == "1998"
    summary = window.runs["study"].read("summary.json")
    assert view.table.item(0, 2).text() == f"{summary['pipelines']['MLP']['parameters']:,}"
    x, y = view.points.getData()
    assert np.allclose(y, [summary["pipelines"][n]["test_accuracy"] for n in ("MLP", "LeNet-5")])
    view.table.selectRow(1)
    assert "LeNet-5 (1998)" in view.history.text() and "LeCun" in view.history.text()
    assert set(window.results.evaluations) == {"MLP", "LeNet-5"}  # the networks are in Results too


def test_a_hardware_study_fills_the_cpu_column_and_says_when_there_is_no_gpu(qtbot, study_window):
    import torch

    window = study_window("hardware")
    view = window.study_view
    assert isinstance(view, HardwareView)
    run_study(qtbot, window)
    view.refresh()
    operations = [view.table.item(r, 0).text() for r in range(view.table.rowCount())]
    assert operations == ["Matrix multiply", "Conv2D layer", "Training step: LeNet-5"]
    assert all(view.table.item(r, 2).text().endswith(" ms") for r in range(3))
    if torch.cuda.is_available():
        assert all(view.table.item(r, 4).text().endswith("×") for r in range(3))
    else:
        assert all(view.table.item(r, 3).text() == "—" for r in range(3))
        assert "No CUDA GPU" in view.note.text()


def test_going_back_to_a_comparison_removes_the_study_tab(study_window, lesson):
    window = study_window("hardware")
    assert window.tabs.indexOf(window.study_view) >= 0
    window.open_experiment(lesson())
    assert window.study_view is None
    assert "Study" not in [window.tabs.tabText(i) for i in range(window.tabs.count())]


def test_cancelling_a_study_says_so_in_its_view_and_keeps_the_run(qtbot, study_window):
    window = study_window("scaling")
    window.run_action.trigger()
    qtbot.waitUntil(lambda: bool(window.study_view.points) or "study" not in window.workers, timeout=60000)
    window.cancel_action.trigger()
    qtbot.waitUntil(lambda: "study" not in window.workers, timeout=60000)
    assert window.runs["study"].status in ("cancelled", "completed")  # it may have finished first
    if window.runs["study"].status == "cancelled":
        assert "cancelled" in window.study_view.status.text()
    assert window.run_action.isEnabled() and not window.cancel_action.isEnabled()
