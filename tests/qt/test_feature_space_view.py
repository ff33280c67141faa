"""The learned-against-engineered features study in the window: table, 2-D pictures, saved runs."""

from __future__ import annotations

import numpy as np
import pytest

from cvstudio.qt.panels.feature_spaces import FeatureSpacesView
from cvstudio.testing import write_tiny_experiment


ENGINEERED, LEARNED = "color-moments → logistic-regression", "CNN features → logistic-regression"


@pytest.fixture
def window(make_window, tmp_path, qtbot):
    path = write_tiny_experiment(
        tmp_path / "features.toml", title="Tiny features", study="features",
        dataset={"name": "tiny", "params": {"per_class": 16}}, split={"val": 0.25, "test": 0.4},
        classical=[{"label": "Moments", "features": ["color-moments"], "classifier": "logistic-regression"}],
        deep=[{"label": "CNN", "model": "lenet5"}], epochs=1)
    window = make_window(path=path)
    window.run_action.trigger()
    qtbot.waitUntil(lambda: "study" in window.runs and "study" not in window.workers, timeout=120000)
    window.pull()
    return window


def test_every_space_gets_a_row_and_a_scatter_plot_coloured_by_class(window):
    view = window.study_view
    assert isinstance(view, FeatureSpacesView) and window.tabs.currentWidget() is view
    assert window.runs["study"].status == "completed"
    view.refresh()
    summary = window.runs["study"].read("summary.json")
    rows = {view.table.item(r, 0).text(): r for r in range(view.table.rowCount())}
    assert set(rows) == {ENGINEERED, "CNN", LEARNED}
    for label, row in rows.items():
        assert view.table.item(row, 3).text() == f"{summary['pipelines'][label]['test_accuracy']:.1%}"
    assert view.table.item(rows[LEARNED], 1).text() == "learned"
    pca = summary["feature_spaces"][LEARNED]["projections"]["pca"]
    assert view.table.item(rows[LEARNED], 4).text() == f"{pca['knn_accuracy']:.1%}"
    assert set(view.plots) == {ENGINEERED, LEARNED}
    plot, scatter = view.plots[LEARNED]
    x, y = scatter.getData()
    saved = window.runs["study"].read(pca["points"])
    assert np.allclose(np.c_[x, y], saved["points"], atol=1e-3)
    colours = {(label, brush.color().name()) for label, brush in zip(saved["labels"], scatter.data["brush"])}
    assert len(colours) == len({label for label, _ in colours}) == 3  # one colour per class
    assert "class 0" in view.legend.text()
    assert set(window.results.evaluations) == {ENGINEERED, "CNN", LEARNED}  # confusion matrices too


def test_switching_to_tsne_redraws_the_same_plots(window):
    view = window.study_view
    view.refresh()
    plot, scatter = view.plots[LEARNED]
    view.method.setCurrentText("t-SNE")
    assert view.plots[LEARNED][1] is scatter
    summary = window.runs["study"].read("summary.json")
    tsne = window.runs["study"].read(summary["feature_spaces"][LEARNED]["projections"]["tsne"]["points"])
    x, y = scatter.getData()
    assert np.allclose(np.c_[x, y], tsne["points"], atol=1e-3)
    assert "t-SNE" in plot.getPlotItem().titleLabel.text


def test_a_saved_run_is_shown_again(window):
    run = window.runs["study"]
    view = window.study_view
    view.reset()
    assert view.table.rowCount() == 0 or not view.rows
    window.open_run(run)
    assert window.tabs.currentWidget() is view
    view.refresh()
    assert view.table.rowCount() == 3 and set(view.plots) == {ENGINEERED, LEARNED}
    assert run.id in view.status.text()
