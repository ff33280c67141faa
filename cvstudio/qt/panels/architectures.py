"""The architectures view: a table of every network, accuracy against size, and each one's history.

A row appears as each network finishes training and is timed; choosing a
row shows the story of that architecture (from its model plugin). On a Ray
cluster, the networks training on the nodes draw their epochs under the plot
(:class:`~cvstudio.qt.panels.cell_curves.CellCurves`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QTableWidgetItem, QVBoxLayout, QWidget

from cvstudio.core.architectures import BATCHES
from cvstudio.core.experiment import PipelineFinished, PipelineStarted
from cvstudio.core.training import EpochEnd
from cvstudio.plugins import Registry, UnknownComponentError
from cvstudio.qt.panels.cell_curves import CellCurves
from cvstudio.qt.panels.study import StudyPanel, results_table
from cvstudio.qt.plots import PointLabels, label_log_axis, line_plot
from cvstudio.qt.theme import Theme
from cvstudio.qt.widgets import name_widget

COLUMNS = ("Network", "Year", "Weights", "Test accuracy", "Training",
           *(f"ms / {b} image{'s' * (b > 1)}" for b in BATCHES))


class ArchitecturesView(StudyPanel):
    SHARES_EVENTS = True  # each network also has its curves in Training and its errors in Results
    TITLE = "Architectures"
    PROMPT = "Press Run (Ctrl+R): each network is trained, then timed; the curves are in Training."

    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.table = results_table(COLUMNS, selectable=True)
        self.table.itemSelectionChanged.connect(self._show_history)
        self.history = QLabel("Choose a network in the table to read its history.")
        self.history.setWordWrap(True)
        self.history.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.history.setObjectName("big")
        self.plot = name_widget(line_plot("Accuracy against size", "weights (log scale)", "test accuracy"),
                                "architectures-plot")
        self.plot.setLogMode(x=True, y=False)
        self.plot.setYRange(0, 1.05, padding=0)
        self.points = name_widget(self.plot.plot([], [], pen=None, symbol="o", symbolSize=16), "architectures-points")
        self.labels = PointLabels(self.plot, self.theme.plot_foreground)
        left = QVBoxLayout()
        left.addWidget(self.table, 3)
        left.addWidget(self.history, 2)
        self.cells = CellCurves()  # shown once a network starts on a cluster
        right = QVBoxLayout()
        right.addWidget(self.plot, 1)
        right.addWidget(self.cells, 1)
        self.plot.setMinimumHeight(300)  # the cells' rows must not squeeze it away
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addLayout(right, 2)
        self.layout().addLayout(body, 1)
        self.reset()
        self.apply_theme(self.theme)

    def reset(self, experiment: Any = None) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.dirty = True
        self.table.setRowCount(0)
        self.cells.reset()
        super().reset(experiment)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.points.setSymbolBrush(pg.mkBrush(theme.val))
        self.points.setSymbolPen(pg.mkPen(theme.plot_foreground))
        self.labels.set_color(theme.plot_foreground)
        self.cells.apply_theme(theme)

    def on_event(self, event: Any) -> None:
        said = self.cells.on_event(event)  # a network on a cluster's node: its start, epochs, failure
        if said is not None:
            self.status.setText(said)
        elif isinstance(event, PipelineStarted):
            self.status.setText(f"Training {event.pipeline}…")
        elif isinstance(event, EpochEnd):
            self.status.setText(f"Training {event.pipeline}: epoch {event.epoch}/{event.epochs}, "
                                f"validation accuracy {event.val_accuracy:.1%}")
        elif isinstance(event, PipelineFinished):
            self.records[event.pipeline] = event.summary
            self.cells.finished(event.pipeline)
            self.status.setText(f"{event.pipeline}: test accuracy {event.summary['test_accuracy']:.1%}")
            self.dirty = True

    def load_run(self, run: Any) -> None:
        summary = self.read_summary(run)
        self.records = dict(summary["pipelines"])
        self.status.setText(f"Run {run.id}: {len(self.records)} networks, {summary.get('status', 'running')}")
        self.refresh()

    def stopped(self, message: str) -> None:
        super().stopped(message)
        self.cells.stopped()

    def refresh(self) -> None:
        self.cells.refresh()
        if not self.dirty:
            return
        self.dirty = False
        self.table.setRowCount(len(self.records))
        for row, (label, record) in enumerate(self.records.items()):
            cells = (label, str(record.get("year") or ""), f"{record['parameters']:,}",
                     f"{record['test_accuracy']:.1%}", f"{record['seconds']:.1f} s",
                     *(f"{record[f'latency_ms_batch{b}']:.2f}" for b in BATCHES))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setData(Qt.ItemDataRole.UserRole, label)
                self.table.setItem(row, column, item)
        self._plot()

    def _plot(self) -> None:
        weights = np.array([r["parameters"] for r in self.records.values()], dtype=float)
        accuracy = np.array([r["test_accuracy"] for r in self.records.values()])
        self.points.setData(weights, accuracy)
        label_log_axis(self.plot, weights)
        if len(weights):  # room for the names of the smallest and largest networks
            self.plot.setXRange(np.log10(weights.min()) - 0.4, np.log10(weights.max()) + 0.4, padding=0)
        self.labels.show(list(self.records), np.log10(weights), accuracy)  # labels do not follow the log mode

    def _show_history(self) -> None:
        items = self.table.selectedItems()
        if not items:
            return
        record = self.records[items[0].data(Qt.ItemDataRole.UserRole)]
        try:
            spec = self.registry.get("models", record["model"])
        except UnknownComponentError:
            self.history.setText(f"The model '{record['model']}' is not installed any more.")
            return
        year = f" ({spec.year})" if spec.year else ""
        self.history.setText(f"<b>{spec.display_name}{year}</b><br>{spec.description}")
