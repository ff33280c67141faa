"""The Training view: live loss and accuracy curves, the classical results as reference lines, progress.

Events are only recorded when they arrive; ``refresh`` (called by the main
window's ~30 Hz timer) pushes them to curve items that were created once, at
most five times a second and only while the view is shown. Every repaint takes
CPU time from the training next to it, so the axes keep their range between
updates (see ``_frame``) and long curves are thinned.
"""

from __future__ import annotations

import time
from dataclasses import fields
from typing import Any, Iterable

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cvstudio.core.tasks import Progress
from cvstudio.core.training import BatchEnd, EpochEnd
from cvstudio.qt.plots import LINE_WIDTH, Series, line_plot
from cvstudio.qt.theme import DARK, Theme
from cvstudio.qt.widgets import LiveBar, LiveText, name_widget

SMOOTHING = 0.1
CURVE_INTERVAL_S = 0.2  # curves redraw at most 5 times a second: each repaint costs the training CPU
BATCH_CURVE_ALPHA = 110
BATCH_POINTS = 2000  # the per-batch curves are thinned past this: more points than pixels only cost time


def format_duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}:{seconds:02d}"


class _Progress(QWidget):
    """A title, a bar and a line of detail for one side (classical or deep)."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = QLabel(f"<b>{title}</b>")
        self.bar = LiveBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.detail = LiveText("idle")  # new text must not relayout (and repaint) the plots below
        self.detail.setObjectName("big")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title, 0, 0)
        layout.addWidget(self.bar, 0, 1)
        layout.addWidget(self.detail, 1, 0, 1, 2)
        layout.setColumnStretch(1, 1)

    def set(self, fraction: float, detail: str) -> None:
        self.bar.setValue(int(1000 * min(max(fraction, 0.0), 1.0)))
        self.detail.setText(detail)


class TrainingPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = DARK
        self.loss_plot = name_widget(line_plot("Loss (lower is better)", "epoch", "cross-entropy loss",
                                               legend_at_bottom=True), "loss-plot")
        self.accuracy_plot = name_widget(line_plot("Accuracy (higher is better)", "epoch", "accuracy"), "accuracy-plot")
        self.accuracy_plot.setYRange(0, 1.05, padding=0)
        self.accuracy_plot.getPlotItem().getViewBox().setLimits(yMin=-0.05, yMax=1.1)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for metric, plot in (("loss", self.loss_plot), ("accuracy", self.accuracy_plot)):
            for name, title in ((f"batch_{metric}", "train (each batch, smoothed)"),
                                (f"train_{metric}", "train (epoch)"), (f"val_{metric}", "validation (epoch)")):
                self.curves[name] = name_widget(plot.plot([], [], name=title), f"{name}-curve")  # e.g. val_loss-curve
        self.references: dict[str, pg.InfiniteLine] = {}
        self.last_draw = 0.0
        self.classical = _Progress("Classical")
        self.deep = _Progress("Deep")
        self.summary = LiveText("Press Run (Ctrl+R) to train. Classical results appear as dashed lines.")
        self.summary.setObjectName("big")
        progress = QHBoxLayout()
        progress.addWidget(self.classical, 1)
        progress.addSpacing(24)
        progress.addWidget(self.deep, 1)
        plots = QHBoxLayout()
        plots.addWidget(self.accuracy_plot, 1)
        plots.addWidget(self.loss_plot, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(progress)
        layout.addWidget(self.summary)
        layout.addLayout(plots, 1)
        self.apply_theme(self.theme)
        self.reset()

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        batch_color = pg.mkColor(theme.train)
        batch_color.setAlpha(BATCH_CURVE_ALPHA)
        for metric in ("loss", "accuracy"):
            self.curves[f"batch_{metric}"].setPen(pg.mkPen(batch_color, width=2))
            for name, color in ((f"train_{metric}", theme.train), (f"val_{metric}", theme.val)):
                self.curves[name].setPen(pg.mkPen(color, width=LINE_WIDTH))
                self.curves[name].setSymbol("o")
                self.curves[name].setSymbolSize(9)
                self.curves[name].setSymbolBrush(pg.mkBrush(color))
                self.curves[name].setSymbolPen(pg.mkPen(color))
        for i, line in enumerate(self.references.values()):
            self._style_reference(line, i)

    def _style_reference(self, line: pg.InfiniteLine, i: int) -> None:
        color = self.theme.references[i % len(self.theme.references)]
        line.setPen(pg.mkPen(color, width=LINE_WIDTH, style=Qt.PenStyle.DashLine))
        line.label.setColor(color)

    def reset(self, epochs: int = 0) -> None:
        """Forget the last run's curves and reference lines."""
        self._clear_curves(epochs)
        for line in self.references.values():
            self.accuracy_plot.removeItem(line)
        self.references = {}
        self.finished_network: tuple[str, float] | None = None
        self.deep_started = 0.0
        self.throughput = 0.0
        self.last_batch: BatchEnd | None = None
        self.classical.set(0, "idle")
        self.deep.set(0, "idle")
        self.refresh(force=True)

    def _clear_curves(self, epochs: int) -> None:
        self.series = {name: Series(limit=BATCH_POINTS if name.startswith("batch_") else 0, dirty=True)
                       for name in self.curves}
        self.x_last = self.loss_top = 0.0
        self.framed = (-1.0, -1.0)
        self.epochs = epochs
        self.smoothed: dict[str, float] = {}

    def pipeline_started(self, label: str, kind: str) -> None:
        if kind == "deep":
            if self.finished_network is not None:  # the next network gets the curves; the last one a line
                self.add_reference(*self.finished_network)
                self._clear_curves(self.epochs)
                self.finished_network = None
            self.deep_started = time.perf_counter()
            self.deep.title.setText(f"<b>Deep: {label}</b>")
        else:
            self.classical.title.setText(f"<b>Classical: {label}</b>")

    def on_progress(self, event: Progress) -> None:
        self.classical.set(event.fraction, f"{event.stage}: {event.done}/{event.total}")

    def on_batch(self, event: BatchEnd) -> None:
        x = event.epoch - 1 + event.batch / event.batches
        for metric in ("loss", "accuracy"):
            value = getattr(event, metric)
            previous = self.smoothed.get(metric, value)
            self.smoothed[metric] = previous + SMOOTHING * (value - previous)
            self._add(f"batch_{metric}", x, self.smoothed[metric])
        self.throughput = event.images_per_s if not self.throughput else (
            self.throughput + SMOOTHING * (event.images_per_s - self.throughput))
        self.last_batch = event

    def _add(self, name: str, x: float, y: float) -> None:
        self.series[name].add(x, y)
        self.x_last = max(self.x_last, x)
        if name.endswith("loss"):
            self.loss_top = max(self.loss_top, y)

    def on_epoch(self, event: EpochEnd) -> None:
        self.epochs = event.epochs
        for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
            self._add(name, event.epoch, getattr(event, name))
        self.summary.setText(
            f"Epoch {event.epoch}/{event.epochs}: validation accuracy {event.val_accuracy:.1%}, "
            f"train accuracy {event.train_accuracy:.1%}, {event.images_per_s:.0f} images/s"
        )

    def add_reference(self, label: str, accuracy: float) -> None:
        """A finished pipeline's validation accuracy as a dashed, labelled horizontal line."""
        if label in self.references:
            self.accuracy_plot.removeItem(self.references.pop(label))
        line = pg.InfiniteLine(pos=accuracy, angle=0, movable=False, label=f"{label}: {accuracy:.1%}",
                               labelOpts={"position": 0.02, "anchors": [(0, 1), (0, 1)]})
        name_widget(line, f"reference:{label}")  # the classical pipeline's accuracy, e.g. reference:HOG + SVM
        font = QFont()
        font.setPointSize(13)
        font.setBold(True)
        line.label.setFont(font)
        self.accuracy_plot.addItem(line)
        self.references[label] = line
        self._style_reference(line, len(self.references) - 1)

    def pipeline_finished(self, label: str, kind: str, summary: dict[str, Any]) -> None:
        if kind == "deep":
            self.refresh(force=True)
            self.last_batch = None  # the finished line must not be overwritten by a stale progress line
            self.finished_network = (label, summary["val_accuracy"])
        text = f"done — validation {summary['val_accuracy']:.1%}, test {summary['test_accuracy']:.1%}"
        (self.deep if kind == "deep" else self.classical).set(1.0, f"{label}: {text}")
        if kind == "classical":
            self.add_reference(label, summary["val_accuracy"])

    def stopped(self, message: str) -> None:
        """A run was cancelled or failed: say so where the progress was."""
        self.refresh(force=True)
        for side in (self.classical, self.deep):
            if side.bar.value() < side.bar.maximum():
                side.set(side.bar.value() / side.bar.maximum(), message)

    def load_history(self, records: Iterable[dict[str, Any]]) -> None:
        """Redraw a saved run from its metrics.jsonl records (epoch curves and classical lines)."""
        self.reset()
        names = {f.name for f in fields(EpochEnd)}
        deep = None
        for record in records:
            if record.get("kind") == "epoch" and deep in (None, record["pipeline"]):
                deep = record["pipeline"]
                self.on_epoch(EpochEnd(**{k: v for k, v in record.items() if k in names}))
            elif record.get("kind") == "final" and record.get("pipeline_kind") == "classical":
                self.add_reference(record["pipeline"], record["val_accuracy"])
        self.refresh(force=True)

    def _frame(self) -> None:
        """Move the ranges only when they grow: x to the run's epochs, loss from 0 to its highest point.

        Autoranging on every update would move the axes, and redrawing their tick text is the costliest
        part of a repaint; fixed ranges let the axes be drawn from cache between updates.
        """
        right = max(self.epochs, self.x_last, 1)
        if right != self.framed[0]:
            for plot in (self.loss_plot, self.accuracy_plot):
                plot.setXRange(0, right, padding=0.02)
        if self.loss_top != self.framed[1]:
            self.loss_plot.setYRange(0, self.loss_top * 1.05 or 1.0, padding=0)
        self.framed = (right, self.loss_top)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Catch up on what arrived while another view was shown."""
        super().showEvent(event)
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        """Push new points to the curves and update the progress line; nothing while hidden or drawn recently."""
        now = time.perf_counter()
        if not self.isVisible() or (now - self.last_draw < CURVE_INTERVAL_S and not force):
            return
        self.last_draw = now
        self._frame()
        for name, series in self.series.items():
            if series.dirty:
                self.curves[name].setData(series.x, series.y)
                series.dirty = False
        event = self.last_batch
        if event is None:
            return
        epochs = max(self.epochs, event.epoch)
        done = (event.epoch - 1) * event.batches + event.batch
        fraction = done / (epochs * event.batches)
        elapsed = now - self.deep_started
        eta = elapsed / fraction * (1 - fraction) if fraction > 0 else 0.0
        self.deep.set(fraction, f"epoch {event.epoch}/{epochs}, batch {event.batch}/{event.batches} — "
                                f"{self.throughput:,.0f} images/s — ETA {format_duration(eta)}")
        self.last_batch = None
