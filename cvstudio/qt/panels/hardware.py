"""The GPU-against-CPU view: the textbook table, filled in with this machine's times."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTableWidgetItem, QWidget

from cvstudio.core.hardware import DevicesFound, Timing, add_timing
from cvstudio.qt.panels.study import StudyPanel, results_table

COLUMNS = ("Operation", "What", "CPU", "GPU", "Speed-up")


class HardwareView(StudyPanel):
    SHARES_EVENTS = False  # no pipelines run: nothing for the other views
    TITLE = "GPU against CPU"
    PROMPT = "Press Run (Ctrl+R) to time each operation on this computer."

    def __init__(self, registry: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setObjectName("big")
        self.table = results_table(COLUMNS, stretch=1)
        self.layout().addWidget(self.table, 1)
        self.layout().addWidget(self.note)
        self.reset()

    def reset(self, experiment: Any = None) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.dirty = True
        self.note.setText("")
        super().reset(experiment)

    def on_event(self, event: Any) -> None:
        if isinstance(event, DevicesFound):
            self.note.setText(event.note)
        elif isinstance(event, Timing):
            add_timing(self.rows, event)
            self.status.setText(f"{event.operation} on the {event.device.upper()}: {event.milliseconds:.2f} ms")
            self.dirty = True

    def load_run(self, run: Any) -> None:
        summary = self.read_summary(run)
        self.rows = {row["operation"]: dict(row) for row in summary["rows"]}
        gpu = summary.get("devices", {}).get("cuda")
        self.status.setText(f"Run {run.id}, measured on the CPU" + (f" and on {gpu}" if gpu else ""))
        self.note.setText(summary.get("note", ""))
        self.refresh()

    def refresh(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        self.table.setRowCount(len(self.rows))
        for index, row in enumerate(self.rows.values()):
            cells = (row["operation"], row["detail"], _milliseconds(row["cpu_ms"]), _milliseconds(row["gpu_ms"]),
                     f"{row['speedup']:.1f}×" if row["speedup"] else "—")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(index, column, item)


def _milliseconds(value: float | None) -> str:
    return f"{value:.2f} ms" if value is not None else "—"
