"""The data-scaling view: test accuracy against training images per class (log scale), live.

Every finished training adds a faint dot (one seed); each pipeline's curve
joins the means over seeds, with bars of one standard deviation. Items are
made once per pipeline and updated in place from ``refresh``. On a Ray
cluster, the networks training on the nodes draw their epochs beside it
(:class:`~cvstudio.qt.panels.cell_curves.CellCurves`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QSizePolicy, QWidget

from cvstudio.core.experiment import DatasetReady
from cvstudio.core.scaling import ScalingPoint, ScalingStarted, curves
from cvstudio.core.tasks import Progress
from cvstudio.core.training import BatchEnd
from cvstudio.qt.panels.cell_curves import CellCurves
from cvstudio.qt.panels.study import StudyPanel
from cvstudio.qt.plots import LINE_WIDTH, label_log_axis, line_plot
from cvstudio.qt.theme import Theme
from cvstudio.qt.widgets import name_widget

DOT_ALPHA = 110


class _Curve:
    """One pipeline's items: dots for single seeds, the line of means, the error bars."""

    def __init__(self, plot: pg.PlotWidget, label: str) -> None:
        self.dots = plot.plot([], [], pen=None, symbol="o", symbolSize=7)
        self.line = name_widget(plot.plot([], [], name=label, symbol="o", symbolSize=11), f"scaling-curve:{label}")
        self.bars = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), height=np.zeros(0), beam=0.04)
        plot.addItem(self.bars)
        self.items = (self.dots, self.line, self.bars)

    def style(self, color: str) -> None:
        faint = pg.mkColor(color)
        faint.setAlpha(DOT_ALPHA)
        self.dots.setSymbolBrush(pg.mkBrush(faint))
        self.dots.setSymbolPen(pg.mkPen(faint))
        self.line.setPen(pg.mkPen(color, width=LINE_WIDTH))
        self.line.setSymbolBrush(pg.mkBrush(color))
        self.line.setSymbolPen(pg.mkPen(color))
        self.bars.setOpts(pen=pg.mkPen(color, width=2))

    def show(self, points: list[dict[str, Any]], curve: dict[str, Any]) -> None:
        self.dots.setData([p["per_class"] for p in points], [p["test_accuracy"] for p in points])
        self.line.setData(curve["per_class"], curve["mean"])
        # the plot's log mode moves PlotDataItems only: the bars are placed at log10(x) by hand
        self.bars.setData(x=np.log10(curve["per_class"]), y=np.asarray(curve["mean"]),
                          height=2 * np.asarray(curve["std"]))


class ScalingView(StudyPanel):
    """Accuracy against training-set size for every pipeline of a scaling study."""

    SHARES_EVENTS = False  # one sweep trains dozens of networks: the Training view would only flicker
    TITLE = "Data scaling"
    PROMPT = "Press Run (Ctrl+R): each finished training adds a point."

    def __init__(self, registry: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # one line that changes with every training: new text must not relayout the plot below
        self.status.setWordWrap(False)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.plot = name_widget(line_plot("Test accuracy against training images",
                                          "training images per class (log scale)",
                                          "test accuracy (mean ± std over seeds)"), "scaling-plot")
        self.plot.setLogMode(x=True, y=False)
        self.plot.setYRange(0, 1.05, padding=0)
        self.plot.getPlotItem().getViewBox().setLimits(yMin=-0.05, yMax=1.1)
        self.chance = pg.InfiniteLine(angle=0, movable=False, label="chance",
                                      labelOpts={"position": 0.95, "anchors": [(1, 1), (1, 1)]})
        self.plot.addItem(self.chance)
        self.cells = CellCurves()  # shown once a cell starts on a cluster
        self.layout().insertWidget(1, self.progress)  # under the heading
        plots = QHBoxLayout()
        plots.addWidget(self.plot, 1)
        plots.addWidget(self.cells, 1)
        self.layout().addLayout(plots, 1)
        self.curves: dict[str, _Curve] = {}
        self.reset()
        self.apply_theme(self.theme)

    def reset(self, experiment: Any = None) -> None:
        for curve in self.curves.values():
            for item in curve.items:
                self.plot.removeItem(item)
        if self.plot.getPlotItem().legend is not None:
            self.plot.getPlotItem().legend.clear()
        self.curves = {}
        self.points: list[dict[str, Any]] = []
        self.order: list[str] = []
        self.total = 0
        self.dirty = True
        self.chance.hide()
        self.progress.setValue(0)
        self.cells.reset()
        super().reset(experiment)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.chance.setPen(pg.mkPen(theme.muted, width=2, style=Qt.PenStyle.DashLine))
        self.chance.label.setColor(theme.muted)
        for index, label in enumerate(self.order):
            if label in self.curves:  # a pipeline's curve is made with its first point
                self.curves[label].style(self._color(index))
        self.cells.apply_theme(theme)

    def _color(self, index: int) -> str:
        palette = (*self.theme.references, self.theme.val, self.theme.train)
        return palette[index % len(palette)]

    def on_event(self, event: Any) -> None:
        said = self.cells.on_event(event)  # a cell on a cluster's node: its start, epochs, failure
        if said is not None:
            self.status.setText(f"{len(self.points)}/{self.total} done — {said}")
        elif isinstance(event, DatasetReady):
            self._set_chance(1 / event.dataset.num_classes)
        elif isinstance(event, ScalingStarted):
            self.total = event.total
            self.order = [label for label, _ in event.pipelines]
            self.progress.setRange(0, event.total)
            label_log_axis(self.plot, event.sizes)
            self.status.setText(f"{event.total} trainings: {len(event.pipelines)} pipelines × "
                                f"{len(event.sizes)} sizes × {event.seeds} seeds")
        elif isinstance(event, ScalingPoint):
            self.points.append(vars(event))
            self.progress.setValue(event.done)
            self.status.setText(f"{event.done}/{event.total} — {event.pipeline}, {event.per_class} per class, "
                                f"seed {event.seed}: test accuracy {event.test_accuracy:.1%}")
            self.cells.finished(event.cell)
            self.dirty = True
        elif isinstance(event, (BatchEnd, Progress)):
            step = f"epoch {event.epoch}" if isinstance(event, BatchEnd) else event.stage
            self.status.setText(f"{len(self.points)}/{self.total} done — now {event.pipeline}: {step}")

    def load_run(self, run: Any) -> None:
        summary = self.read_summary(run)
        self.order = list(summary.get("curves", {}))
        self.points = list(summary["points"])
        label_log_axis(self.plot, [p["per_class"] for p in self.points])
        self._set_chance(1 / len(summary["dataset"]["classes"]))
        self.status.setText(f"Run {run.id}: {len(self.points)} trainings, {summary.get('status', 'running')}")
        self.refresh()

    def stopped(self, message: str) -> None:
        super().stopped(message)
        self.cells.stopped()

    def _set_chance(self, level: float) -> None:
        self.chance.setPos(level)
        self.chance.show()

    def refresh(self) -> None:
        """Redraw the curves that got new points since the last call."""
        self.cells.refresh()
        if not self.dirty:
            return
        self.dirty = False
        for label, curve in curves(self.points).items():
            if label not in self.curves:
                if label not in self.order:
                    self.order.append(label)
                self.curves[label] = _Curve(self.plot, label)
                self.curves[label].style(self._color(self.order.index(label)))
            self.curves[label].show([p for p in self.points if p["pipeline"] == label], curve)
