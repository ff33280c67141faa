"""The Runs view: every saved run, from the GUI or `cvstudio run`, to reopen its curves and results."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from cvstudio.core.runs import Run, RunStore


def describe(run: Run) -> tuple[str, str]:
    """The run's title and one line of results, from its summary if it has one."""
    try:
        summary = run.read("summary.json")
    except (OSError, ValueError):
        return "", ""
    results = ", ".join(f"{name} {p['test_accuracy']:.1%}" for name, p in summary.get("pipelines", {}).items())
    return summary.get("title", ""), results


class RunsPanel(QWidget):
    open_requested = Signal(object)

    def __init__(self, store: RunStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Run", "Status", "Title", "Test accuracy"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.itemDoubleClicked.connect(self._open)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.open_button = QPushButton("Open run")
        self.open_button.clicked.connect(lambda: self._open(self.tree.currentItem()))
        where = QLabel(f"Runs are saved in {store.root}")
        where.setObjectName("description")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(where, 1)
        buttons.addWidget(refresh)
        buttons.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.tree, 1)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        self.tree.clear()
        for run in self.store.runs():
            title, results = describe(run)
            item = QTreeWidgetItem([run.id, run.status, title, results])
            item.setData(0, Qt.ItemDataRole.UserRole, run)
            item.setToolTip(0, str(run.path))
            self.tree.addTopLevelItem(item)
        for column in range(3):
            self.tree.resizeColumnToContents(column)

    @Slot(QTreeWidgetItem)
    def _open(self, item: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.open_requested.emit(item.data(0, Qt.ItemDataRole.UserRole))
