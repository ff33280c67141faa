"""The per-epoch curves of a study's cells while they train on a cluster's nodes.

On a Ray cluster several cells of a study train at once, each on some node;
their epochs come back as :class:`~cvstudio.core.cells.CellEpoch` events while
they train. Here each running cell gets a colour of its own: validation
accuracy and loss as solid lines, training accuracy and loss dashed, and a row
under the plots naming the cell, its node and its last epoch. A finished
cell's curves stay, faded (the newest few); a cell started again after its node
was lost starts its curves again; a failed cell is listed with the reason.

Events are only recorded when they arrive; ``refresh`` (the window's timer)
draws what changed, on items made once per cell.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html import escape
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cvstudio.core.cells import CellEpoch, CellFailed, CellStarted, CellsUnwatched
from cvstudio.qt.plots import LINE_WIDTH, Series, line_plot
from cvstudio.qt.theme import DARK, Theme
from cvstudio.qt.widgets import name_widget

METRICS = ("val_accuracy", "train_accuracy", "val_loss", "train_loss")
RUNNING, DONE, FAILED, STOPPED = "running", "done", "failed", "stopped"
FADED_ALPHA = 70
KEPT_FINISHED = 12  # finished cells whose faded curves stay: more would bury the running ones


@dataclass
class CellTrace:
    """One cell: where it runs, how far it got, its recorded epochs and (once it has one) its curves."""

    label: str
    node: str
    attempt: int = 1
    state: str = RUNNING
    epoch: str = ""  # its newest epoch, as its row says it
    series: dict[str, Series] = field(default_factory=lambda: {m: Series() for m in METRICS})
    items: dict[str, pg.PlotDataItem] = field(default_factory=dict)
    color: str = ""
    drawn_as: str = ""  # the state its items are styled for

    def restart(self, node: str, attempt: int) -> None:
        """Started again (its worker or node was lost): the curves begin anew."""
        self.node, self.attempt, self.state, self.epoch = node, attempt, RUNNING, ""
        self.series = {m: Series(dirty=True) for m in METRICS}


class CellCurves(QWidget):
    """Accuracy and loss per epoch of every cell training on a cluster; hidden until a cell starts on one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = DARK
        self.accuracy_plot = name_widget(line_plot("Cells training now: accuracy", "epoch", "accuracy"),
                                         "cells-accuracy-plot")
        self.accuracy_plot.setYRange(0, 1.05, padding=0)
        self.accuracy_plot.getPlotItem().getViewBox().setLimits(yMin=-0.05, yMax=1.1)
        self.loss_plot = name_widget(line_plot("Cells training now: loss", "epoch", "cross-entropy loss"),
                                     "cells-loss-plot")
        self.key = QLabel()  # what solid and dashed mean
        self.nodes = name_widget(QLabel(), "cluster-nodes", "Nodes")
        self.rows = name_widget(QLabel(wordWrap=True), "big", "Cells training now")  # "big": a class reads it
        self.failures = name_widget(QLabel(wordWrap=True), "failed-cells", "Failed cells")
        self.failures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.nodes.setWordWrap(True)
        for label in (self.key, self.rows, self.failures):
            label.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.accuracy_plot, 1)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.key)
        layout.addWidget(self.rows)
        layout.addWidget(self.nodes)
        layout.addWidget(self.failures)
        self.cells: dict[str, CellTrace] = {}
        self.reset()
        self.apply_theme(self.theme)

    def reset(self) -> None:
        """Forget the last study's cells, and hide until a cell starts on a cluster."""
        for cell in self.cells.values():
            self._remove_items(cell)
        self.cells = {}
        self.node_numbers: dict[str, int] = {}  # node id → 1, 2, ...: in the order they were first seen
        self.ended: list[str] = []  # the labels of the cells that finished or failed, oldest first
        self.errors: list[str] = []
        self.unwatched_reason = ""  # why the nodes' starts and epochs stopped coming back, if they did
        self.epochs = 0
        self.loss_top = 0.0
        self.framed = (-1.0, -1.0)
        self.dirty = True
        self.hide()

    def apply_theme(self, theme: Theme) -> None:
        before, self.theme = self._palette(), theme
        self.key.setText(f"<span style='color:{theme.muted}'>solid: validation — dashed: training — "
                         f"faded: finished — red: failed</span>")
        self.failures.setStyleSheet(f"color: {theme.error}")
        for cell in self.cells.values():
            if cell.color in before:  # each cell keeps its place in the palette
                cell.color = self._palette()[before.index(cell.color)]
            cell.drawn_as = ""  # styled again on the next refresh
        self.dirty = True

    # ------------------------------------------------------------- events

    def on_event(self, event: Any) -> str | None:
        """Record a cell's start, epoch or failure (or that their events were lost): a line saying what
        happened, for the view's status line; None for any other event."""
        if isinstance(event, CellStarted):
            self.started(event)
            again = f" (attempt {event.attempt}: its worker or node was lost)" if event.attempt > 1 else ""
            return f"started {event.label} on {self.node_name(event.node)}{again}"
        if isinstance(event, CellEpoch):
            self.epoch(event)
            e = event.epoch
            return f"{event.label}: epoch {e.epoch}/{e.epochs}, validation accuracy {e.val_accuracy:.1%}"
        if isinstance(event, CellFailed):
            self.failed(event)
            return f"{event.label} failed: why is said in red under the cells' curves"
        if isinstance(event, CellsUnwatched):
            self.unwatched(event)
            return event.describe().strip()
        return None

    def started(self, event: CellStarted) -> None:
        """A cell began on a node (again, if its worker or node was lost before)."""
        self.node_numbers.setdefault(event.node, len(self.node_numbers) + 1)
        cell = self.cells.get(event.label)
        if cell is None:
            self.cells[event.label] = CellTrace(event.label, event.node, event.attempt)
        else:
            if event.label in self.ended:
                self.ended.remove(event.label)
            cell.restart(event.node, event.attempt)
        self.dirty = True
        self.show()

    def epoch(self, event: CellEpoch) -> None:
        """A running cell's epoch, as it ended on its node."""
        cell = self.cells.get(event.label)
        if cell is None:  # its start was not seen (the view was reset meanwhile): draw it all the same
            cell = self.cells[event.label] = CellTrace(event.label, "")
            self.show()
        e = event.epoch
        for metric in METRICS:
            cell.series[metric].add(e.epoch, getattr(e, metric))
        cell.epoch = f"epoch {e.epoch}/{e.epochs}: validation {e.val_accuracy:.1%}"
        self.epochs = max(self.epochs, e.epochs, e.epoch)
        self.loss_top = max(self.loss_top, e.train_loss, e.val_loss)
        if not cell.items:
            self._add_items(cell)
        self.dirty = True

    def finished(self, label: str) -> None:
        """A cell's result arrived: its curves fade."""
        self._end(label, DONE)

    def failed(self, event: CellFailed) -> None:
        """A cell could not finish: its curves fade, and why is listed."""
        self._end(event.label, FAILED)
        self.errors.append(event.error)
        self.show()

    def unwatched(self, event: CellsUnwatched) -> None:
        """The nodes' starts and epochs no longer come back (the cells' results still do): say so."""
        self.unwatched_reason = event.reason
        self.dirty = True

    def stopped(self) -> None:
        """The study was cancelled or failed: the cells still running stop where they are."""
        for cell in self.cells.values():
            if cell.state == RUNNING:
                cell.state = STOPPED
        self.dirty = True

    def running(self) -> list[CellTrace]:
        return [cell for cell in self.cells.values() if cell.state == RUNNING]

    def _end(self, label: str, state: str) -> None:
        cell = self.cells.get(label)
        if cell is None or cell.state != RUNNING:
            return
        cell.state = state
        self.ended.append(label)
        for old in self.ended[:-KEPT_FINISHED]:  # the oldest faded curves go: the running ones stay readable
            self._remove_items(self.cells[old])
        self.dirty = True

    # ------------------------------------------------------------ drawing

    def _add_items(self, cell: CellTrace) -> None:
        in_use = {c.color for c in self.running() if c.items}
        palette = self._palette()
        free = [color for color in palette if color not in in_use]
        cell.color = free[0] if free else palette[len(self.cells) % len(palette)]
        for metric in METRICS:
            plot = self.accuracy_plot if metric.endswith("accuracy") else self.loss_plot
            cell.items[metric] = name_widget(plot.plot([], []), f"cell-{metric}:{cell.label}")
        cell.drawn_as = ""

    def _remove_items(self, cell: CellTrace) -> None:
        for metric, item in cell.items.items():
            (self.accuracy_plot if metric.endswith("accuracy") else self.loss_plot).removeItem(item)
        cell.items = {}

    def _palette(self) -> tuple[str, ...]:
        return (self.theme.val, self.theme.train, *self.theme.references)

    def _style(self, cell: CellTrace) -> None:
        running = cell.state == RUNNING
        color = pg.mkColor(self.theme.error if cell.state == FAILED else cell.color)
        if not running:
            color.setAlpha(FADED_ALPHA)
        for metric, item in cell.items.items():
            validation = metric.startswith("val_")
            style = Qt.PenStyle.SolidLine if validation else Qt.PenStyle.DashLine
            item.setPen(pg.mkPen(color, width=LINE_WIDTH if running and validation else 2, style=style))
            item.setSymbol("o" if running and validation else None)
            item.setSymbolSize(8)
            item.setSymbolBrush(pg.mkBrush(color))
            item.setSymbolPen(pg.mkPen(color))
            item.setZValue(1 if running else 0)  # the running cells over the faded ones
        cell.drawn_as = cell.state

    def refresh(self) -> None:
        """Draw what arrived since the last call: new points, cells that finished, the rows under the plots."""
        if not self.dirty:
            return
        self.dirty = False
        self._frame()
        for cell in self.cells.values():
            if not cell.items:
                continue
            if cell.drawn_as != cell.state:
                self._style(cell)
            for metric, series in cell.series.items():
                if series.dirty:
                    cell.items[metric].setData(series.x, series.y)
                    series.dirty = False
        self.rows.setText(self._rows_text())
        lost = (f"\nThe cells' epochs no longer come back ({self.unwatched_reason}): the curves stop here, "
                "the points still arrive." if self.unwatched_reason else "")
        self.nodes.setText(self._nodes_text() + lost)
        self.failures.setText("<br>".join(f"✗ {escape(error, quote=False)}" for error in self.errors))
        self.failures.setVisible(bool(self.errors))

    def _frame(self) -> None:
        """Move the ranges only when they grow: x to the longest training's epochs, loss from 0 to its top."""
        right = max(self.epochs, 1)
        if right != self.framed[0]:
            for plot in (self.accuracy_plot, self.loss_plot):
                plot.setXRange(0, right, padding=0.02)
        if self.loss_top != self.framed[1]:
            self.loss_plot.setYRange(0, self.loss_top * 1.05 or 1.0, padding=0)
        self.framed = (right, self.loss_top)

    def node_name(self, node: str) -> str:
        return f"node {self.node_numbers[node]}" if node in self.node_numbers else "a node"

    def _rows_text(self) -> str:
        rows = []
        for cell in self.running():
            swatch = f"<span style='color:{cell.color}'>■</span> " if cell.items else "□ "
            again = f", attempt {cell.attempt}" if cell.attempt > 1 else ""
            doing = cell.epoch or ("training…" if cell.items else "working…")
            rows.append(f"{swatch}{escape(cell.label, quote=False)} · {self.node_name(cell.node)}{again} · {doing}")
        return "<br>".join(rows) or "No cell is training now."

    def _nodes_text(self) -> str:
        running = Counter(cell.node for cell in self.running())
        done = Counter(cell.node for cell in self.cells.values() if cell.state == DONE)
        return "   ".join(f"{self.node_name(node)} ({node[:12]}): {running[node]} training, {done[node]} done"
                           for node in self.node_numbers)
