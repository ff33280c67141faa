"""The Runs view compares saved runs, whether made in the window or headless."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from cvstudio.core.experiment import load_experiment, run_experiment
from cvstudio.core.tasks import TaskState, drain
from cvstudio.qt.panels.runs import RUN_COLUMN_PX


def _headless_run(store, registry, path, title):
    experiment = load_experiment(path, registry)
    run = store.create(title)
    drain(run_experiment(experiment, registry, run, TaskState()))
    return run


def test_selecting_runs_draws_their_curves_and_results_side_by_side(make_window, store, registry, lesson):
    runs = [_headless_run(store, registry, lesson(epochs=epochs), f"run {epochs}") for epochs in (1, 2)]
    window = make_window()
    panel = window.runs_panel
    panel.refresh()
    window.tabs.setCurrentWidget(panel)
    panel.select(runs)
    assert sorted(item.text(0) for item in panel.tree.selectedItems()) == sorted(run.id for run in runs)

    curves = panel.compare.plot.getPlotItem().listDataItems()
    assert sorted(len(curve.xData) for curve in curves) == [1, 2]  # one network per run, 1 and 2 epochs
    assert {curve.name().split(" · ")[0] for curve in curves} == {run.id for run in runs}
    lines = [item for item in panel.compare.plot.getPlotItem().items if isinstance(item, pg.InfiniteLine)]
    assert len(lines) == 2  # each run's classical pipeline as a dashed line
    table = panel.compare.table
    assert table.topLevelItemCount() == 4
    recorded = {(table.topLevelItem(i).text(0), table.topLevelItem(i).text(2)) for i in range(4)}
    assert recorded == {(run.id, kind) for run in runs for kind in ("classical", "deep")}
    final = next(r for r in runs[1].metrics() if r.get("kind") == "final" and r["pipeline_kind"] == "deep")
    assert f"{final['test_accuracy']:.1%}" in {table.topLevelItem(i).text(4) for i in range(4)}

    table.sortItems(3, Qt.SortOrder.DescendingOrder)  # by validation accuracy, as numbers
    shown = [float(table.topLevelItem(i).text(3).rstrip("%")) for i in range(4)]
    assert shown == sorted(shown, reverse=True)

    panel.tree.clearSelection()
    assert panel.compare.plot.getPlotItem().listDataItems() == [] and table.topLevelItemCount() == 0


def test_long_run_ids_leave_room_for_the_results(make_window, store):
    store.create("a title long enough to push the results column off a projector's screen " * 2)
    panel = make_window().runs_panel
    panel.refresh()
    assert panel.tree.sizeHintForColumn(0) > RUN_COLUMN_PX >= panel.tree.columnWidth(0)  # elided, not scrolled
    item = panel.tree.topLevelItem(0)
    assert item.toolTip(0).splitlines()[0] == item.text(0)  # the whole id is in the tooltip
