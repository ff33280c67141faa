"""What every study view shares: a heading, a status line, how a stop is shown, and reading a saved run.

A view subclasses :class:`StudyPanel`, adds its own widgets to ``self.layout()``
under the status line, and names its title and its prompt before Run; see
:mod:`cvstudio.qt.study_views` for the rest of what a study view does.
"""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QVBoxLayout, QWidget

from cvstudio.qt.theme import DARK, Theme
from cvstudio.qt.widgets import name_widget


class StudyPanel(QWidget):
    SHARES_EVENTS = False
    TITLE = "Study"  # the heading until an experiment names it
    PROMPT = "Press Run (Ctrl+R)."  # the status line before a run

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = DARK
        self.heading = QLabel()
        self.heading.setObjectName("heading")
        self.status = QLabel(wordWrap=True)
        self.status.setObjectName("big")
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.status)

    def reset(self, experiment: Any = None) -> None:
        """Forget the last run; a subclass clears its own state, then calls this."""
        self.heading.setText(experiment.title if experiment is not None else self.TITLE)
        self.status.setText(self.PROMPT)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme

    def say(self, message: str) -> None:
        """A line about the run that is not the study's own result, e.g. the cluster being checked."""
        self.status.setText(message)

    def stopped(self, message: str) -> None:
        self.say(message)

    def read_summary(self, run: Any) -> dict[str, Any]:
        """A saved run's summary, with the view reset and titled for it."""
        summary = run.summary()
        self.reset()
        self.heading.setText(summary["title"])
        return summary


def results_table(columns: Sequence[str], stretch: int = 0, selectable: bool = False) -> QTableWidget:
    """A read-only table, columns fitted to their contents except ``stretch``; whole rows selectable if asked."""
    table = name_widget(QTableWidget(0, len(columns)), "study-results", "Study results")
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    if selectable:
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table
