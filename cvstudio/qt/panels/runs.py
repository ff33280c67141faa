"""The Runs view: every saved run, from the GUI or `cvstudio run`, to reopen its curves and results."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QAbstractItemView,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cvstudio.core.runs import UNREADABLE, Run, RunStore, UnreadableRun
from cvstudio.qt.panels.compare import CompareView
from cvstudio.qt.widgets import name_widget

RUN_COLUMN_PX = 300  # a run's id begins with when it started; the rest repeats its title (elided, in the tooltip)


def describe(run: Run) -> tuple[str, str, str]:
    """The run's status, title and one line of results; an unreadable run says which file and why."""
    try:
        summary = run.summary()
    except UnreadableRun as exc:
        return UNREADABLE, str(exc), ""
    results = ", ".join(f"{name} {p['test_accuracy']:.1%}" for name, p in summary.get("pipelines", {}).items()
                        if "test_accuracy" in p)
    return run.status, summary.get("title", ""), results


class RunsPanel(QWidget):
    open_requested = Signal(object)

    def __init__(self, store: RunStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.tree = name_widget(QTreeWidget(), "runs-list", "Saved runs")
        self.tree.setHeaderLabels(["Run", "Status", "Title", "Test accuracy"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setToolTip("Select runs (Ctrl or Shift + click) to compare them below; double-click to open one")
        self.tree.itemDoubleClicked.connect(self._open)
        self.compare = CompareView()
        self.tree.itemSelectionChanged.connect(self._compare_selected)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.open_button = QPushButton("Open run")
        self.open_button.clicked.connect(lambda: self._open(self.tree.currentItem()))
        self.csv_button = QPushButton("Export all as CSV…")
        self.csv_button.setToolTip("Every run's results in one table: one row per pipeline")
        self.csv_button.clicked.connect(lambda: self.export_csv())
        self.where = QLabel(f"Runs are saved in {store.root}")
        self.where.setObjectName("description")
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.where, 1)
        buttons.addWidget(refresh)
        buttons.addWidget(self.csv_button)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.compare)
        splitter.setSizes([300, 600])
        layout.addWidget(splitter, 1)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        self.tree.clear()
        for run in self.store.runs():
            status, title, results = describe(run)
            item = QTreeWidgetItem([run.id, status, title, results])
            item.setData(0, Qt.ItemDataRole.UserRole, run)
            item.setToolTip(0, f"{run.id}\n{run.path}")
            self.tree.addTopLevelItem(item)
        for column in range(3):
            self.tree.resizeColumnToContents(column)
        self.tree.setColumnWidth(0, min(self.tree.columnWidth(0), RUN_COLUMN_PX))  # leaves room for the results

    def select(self, runs: Iterable[Run]) -> None:
        """Select these runs in the list (the comparison below shows them)."""
        paths = {run.path for run in runs}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, Qt.ItemDataRole.UserRole).path in paths)

    def export_csv(self, path: Path | None = None) -> Path | None:
        """Write every saved run's results to a CSV file (asking where, unless ``path`` is given)."""
        from cvstudio.core.report import write_results_csv  # loads OpenCV: only when asked for

        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export all runs as CSV", str(Path.home() / "cvstudio-runs.csv"),
                                                    "CSV files (*.csv)")
            if not chosen:
                return None
            path = Path(chosen)
        try:
            rows = write_results_csv(self.store.runs(), path)
        except OSError as exc:
            self.where.setText(f"Cannot write {path}: {exc.strerror}; choose another folder")
            return None
        self.where.setText(f"Wrote {rows} row(s) to {path}")
        return path

    @Slot()
    def _compare_selected(self) -> None:
        self.compare.show_runs(item.data(0, Qt.ItemDataRole.UserRole) for item in self.tree.selectedItems())

    @Slot(QTreeWidgetItem)
    def _open(self, item: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.open_requested.emit(item.data(0, Qt.ItemDataRole.UserRole))
