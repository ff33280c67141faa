"""The learned-against-engineered view: every feature space's accuracy through the same classifier,
and each space's test images in 2-D, one colour per class, side by side."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cvstudio.core.experiment import DatasetReady, PipelineFinished, PipelineStarted
from cvstudio.core.feature_spaces import (
    METHOD_NAMES,
    PROJECTIONS,
    FeatureSpaceProjected,
    FeatureSpaceSkipped,
    projection_from_run,
)
from cvstudio.qt.panels.study import StudyPanel, results_table
from cvstudio.qt.theme import Theme
from cvstudio.qt.widgets import name_widget

COLUMNS = ("Features → classifier", "Features", "Dimensions", "Test accuracy")
PLOT_COLUMNS = 2
DOT_SIZE = 8


class FeatureSpacesView(StudyPanel):
    """Accuracies side by side, and a 2-D picture of every feature space."""

    SHARES_EVENTS = True  # its pipelines are ordinary ones: curves in Training, confusion matrices in Results
    TITLE = "Learned against engineered features"
    PROMPT = "Press Run (Ctrl+R): each feature space goes through the same classifier."

    def __init__(self, registry: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = results_table([*COLUMNS, *(f"{METHOD_NAMES[m]} 5-NN in 2-D" for m in PROJECTIONS)])
        self.table.setToolTip("The same classifier for every row: only the features differ. The last columns say "
                              "how often an image's 5 nearest neighbours in the 2-D picture share its class.")
        self.method = name_widget(QComboBox(), "projection-picker", "Projection method")
        self.method.addItems([METHOD_NAMES[m] for m in PROJECTIONS])
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.plots_host = QWidget()
        self.plots_grid = QGridLayout(self.plots_host)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("2-D picture by"))
        controls.addWidget(self.method)
        controls.addSpacing(20)
        controls.addWidget(self.legend, 1)
        pictures = QWidget()
        pictures_layout = QVBoxLayout(pictures)
        pictures_layout.addLayout(controls)
        pictures_layout.addWidget(self.plots_host, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(pictures)
        splitter.setStretchFactor(1, 3)
        self.layout().addWidget(splitter, 1)
        self.method.currentIndexChanged.connect(self._method_changed)
        self.plots: dict[str, tuple[pg.PlotWidget, pg.ScatterPlotItem]] = {}
        self.reset()

    def reset(self, experiment: Any = None) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.projections: dict[tuple[str, str], FeatureSpaceProjected] = {}
        self.skipped: list[str] = []
        self.class_names: tuple[str, ...] = ()
        for plot, _ in self.plots.values():
            plot.deleteLater()
        self.plots = {}
        self.dirty = True
        self.legend.setText("")
        super().reset(experiment)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.dirty = True

    def on_event(self, event: Any) -> None:
        if isinstance(event, DatasetReady):
            self.class_names = event.dataset.class_names
        elif isinstance(event, PipelineStarted):
            self.status.setText(f"Now: {event.pipeline}")
        elif isinstance(event, PipelineFinished):
            self.rows[event.pipeline] = event.summary
            self.dirty = True
        elif isinstance(event, FeatureSpaceProjected):
            self.projections[event.space, event.method] = event
            self.class_names = event.class_names
            self.dirty = True
        elif isinstance(event, FeatureSpaceSkipped):
            self.skipped.append(event.reason)
            self.status.setText(event.reason)

    def load_run(self, run: Any) -> None:
        summary = self.read_summary(run)
        self.rows = dict(summary["pipelines"])
        self.class_names = tuple(summary["dataset"]["classes"])
        for record in summary.get("feature_spaces", {}).values():
            for saved in record["projections"].values():
                event = projection_from_run(run, saved["points"])
                self.projections[event.space, event.method] = event
        self.skipped = [entry["reason"] for entry in summary.get("skipped", [])]
        self.status.setText(" ".join([f"Run {run.id}, {summary.get('status', 'running')}.", *self.skipped]))
        self.refresh()

    def refresh(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        self._fill_table()
        self._draw_projections()

    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.rows))
        for row, (label, record) in enumerate(self.rows.items()):
            scores = [self.projections.get((label, method)) for method in PROJECTIONS]
            dim = record.get("feature_dim")
            cells = (label, record.get("space", ""), str(dim) if dim else "—", f"{record['test_accuracy']:.1%}",
                     *(f"{s.knn_accuracy:.1%}" if s else "—" for s in scores))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)

    @Slot()
    def _method_changed(self) -> None:
        self.dirty = True
        self.refresh()

    def _draw_projections(self) -> None:
        """One scatter plot per feature space, made once and updated in place, for the chosen method."""
        method = PROJECTIONS[max(self.method.currentIndex(), 0)]
        shown = [event for (_, m), event in self.projections.items() if m == method]
        colors = [pg.intColor(i, hues=max(len(self.class_names), 1)) for i in range(len(self.class_names))]
        self.legend.setText("  ".join(f"<span style='color:{c.name()}'>●</span> {name}"
                                      for name, c in zip(self.class_names, colors)))
        columns = min(PLOT_COLUMNS if len(shown) <= 4 else 3, max(len(shown), 1))
        for number, event in enumerate(shown):
            if event.space not in self.plots:
                plot = name_widget(pg.PlotWidget(enableMenu=False), f"{event.space}-projection", event.space)
                plot.hideButtons()
                plot.hideAxis("left")
                plot.hideAxis("bottom")
                scatter = pg.ScatterPlotItem(size=DOT_SIZE, pen=None)
                plot.addItem(scatter)
                self.plots[event.space] = (plot, scatter)
            plot, scatter = self.plots[event.space]
            self.plots_grid.addWidget(plot, number // columns, number % columns)
            scatter.setData(x=event.points[:, 0], y=event.points[:, 1],
                            brush=[pg.mkBrush(colors[label]) for label in event.labels])
            plot.setTitle(f"<span style='font-size:13pt'>{event.space}</span><br>"
                          f"{METHOD_NAMES[method]}: 5-NN accuracy {event.knn_accuracy:.1%}, "
                          f"silhouette {_number(event.silhouette)}")
            plot.autoRange()
        for space, (plot, _) in self.plots.items():
            plot.setVisible(any(event.space == space for event in shown))
        for row in range(math.ceil(len(shown) / columns)):
            self.plots_grid.setRowStretch(row, 1)
        for column in range(columns):
            self.plots_grid.setColumnStretch(column, 1)


def _number(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f}"
