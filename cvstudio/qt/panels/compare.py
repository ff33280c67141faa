"""Runs side by side: every network's validation curve and every pipeline's final accuracy, from saved runs.

It reads only what the runs wrote (``metrics.jsonl``), so a run made
headless with ``cvstudio run`` compares with one made in the window.
"""

from __future__ import annotations

from typing import Any, Iterable

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from cvstudio.core.runs import Run
from cvstudio.qt.plots import LINE_WIDTH, line_plot
from cvstudio.qt.theme import DARK, Theme
from cvstudio.qt.widgets import name_widget

COLUMNS = ("Run", "Pipeline", "Kind", "Validation", "Test", "Seconds")


def run_results(run: Run) -> tuple[dict[str, list[tuple[int, float]]], list[dict[str, Any]]]:
    """A run's validation accuracy per epoch for each network, and its final records."""
    curves: dict[str, list[tuple[int, float]]] = {}
    finals = []
    for record in run.metrics():
        if record.get("kind") == "epoch":
            curves.setdefault(record["pipeline"], []).append((record["epoch"], record["val_accuracy"]))
        elif record.get("kind") == "final":
            finals.append(record)
    return curves, finals


class CompareView(QWidget):
    """The chosen runs' curves on one plot (classical results as dashed lines) above a table of results."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = DARK
        self.plot = name_widget(line_plot("Validation accuracy of the selected runs", "epoch", "accuracy"), "compare-plot")
        self.plot.setYRange(0, 1.05, padding=0)
        self.table = name_widget(QTreeWidget(), "compare-table", "Selected runs compared")
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setRootIsDecorated(False)
        self.table.setSortingEnabled(True)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.table)
        splitter.setSizes([600, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.runs: list[Run] = []

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.show_runs(self.runs)

    def show_runs(self, runs: Iterable[Run]) -> None:
        """Draw these runs; each curve and line is named ``run id · pipeline``."""
        self.runs = list(runs)
        self.plot.clear()  # also empties the legend
        self.table.clear()
        palette = (self.theme.train, self.theme.val, *self.theme.references)
        color_index = 0
        for run in self.runs:
            try:
                curves, finals = run_results(run)
            except (OSError, ValueError) as exc:
                self.table.addTopLevelItem(QTreeWidgetItem([run.id, f"cannot read: {exc}"]))
                continue
            for label, points in curves.items():
                color = palette[color_index % len(palette)]
                color_index += 1
                epochs, accuracies = zip(*points)
                curve = self.plot.plot(epochs, accuracies, name=f"{run.id} · {label}",
                                       pen=pg.mkPen(color, width=LINE_WIDTH), symbol="o", symbolBrush=pg.mkBrush(color),
                                       symbolPen=pg.mkPen(color))
                name_widget(curve, f"{run.id}:{label}-curve")
            for record in finals:
                if record.get("pipeline_kind") == "classical":
                    color = palette[color_index % len(palette)]
                    color_index += 1
                    self.plot.addItem(pg.InfiniteLine(
                        pos=record["val_accuracy"], angle=0, movable=False,
                        pen=pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine),
                        label=f"{run.id} · {record['pipeline']}: {record['val_accuracy']:.1%}",
                        labelOpts={"position": 0.02, "color": color, "anchors": [(0, 1), (0, 1)]}))
                self.table.addTopLevelItem(_ResultItem([
                    run.id, record["pipeline"], record.get("pipeline_kind", ""),
                    f"{record['val_accuracy']:.1%}", f"{record['test_accuracy']:.1%}",
                    f"{record.get('seconds', 0):.1f}",
                ]))
        for column in range(len(COLUMNS)):
            self.table.resizeColumnToContents(column)


class _ResultItem(QTreeWidgetItem):
    """Sorts the number columns as numbers, not as text."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        column = self.treeWidget().sortColumn()
        if column >= 3:
            return _number(self.text(column)) < _number(other.text(column))
        return self.text(column) < other.text(column)


def _number(text: str) -> float:
    try:
        return float(text.rstrip("%"))
    except ValueError:
        return float("-inf")
