"""Every interactive widget has a name a screen reader can say, and the documented ones have stable objectNames."""

from __future__ import annotations

import re
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QObject
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QGraphicsView,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QSlider,
    QTextEdit,
    QWidget,
)

from cvstudio.qt.study_views import STUDY_VIEWS, study_view_class

INTERACTIVE = (QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox, QGraphicsView, QLineEdit,
               QPlainTextEdit, QSlider, QTextEdit)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def ancestors(widget: QWidget):
    parent = widget.parentWidget()
    while parent is not None:
        yield parent
        parent = parent.parentWidget()


def interactive_widgets(root: QWidget) -> list[QWidget]:
    """What a user can click, type into or read as a chart; not the parts Qt builds inside its own widgets."""
    return [w for w in root.findChildren(QWidget)
            if isinstance(w, INTERACTIVE) and not isinstance(w, QHeaderView) and not w.objectName().startswith("qt_")
            and not any(isinstance(a, (QComboBox, QAbstractSpinBox)) for a in ancestors(w))]


def accessible_name(widget: QWidget) -> str:
    """The name a screen reader says: the accessible name, a button's text, or its form label."""
    return QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)


def describe(widget: QWidget) -> str:
    path = [type(widget).__name__, *(type(a).__name__ for a in ancestors(widget))]
    return " < ".join(path[:5])


def unnamed_curves(root: QWidget) -> list[str]:
    return [describe(plot) for plot in root.findChildren(pg.PlotWidget)
            for item in plot.getPlotItem().listDataItems() if not item.objectName()]


def test_every_interactive_widget_of_the_window_has_an_accessible_name(qtbot, make_window):
    window = make_window()
    for name in window.views():
        window.show_view(name)  # some views build their widgets when first shown
        qtbot.wait(10)
    widgets = interactive_widgets(window)
    assert len(widgets) > 50
    unnamed = [describe(w) for w in widgets if not accessible_name(w)]
    assert unnamed == []
    assert unnamed_curves(window) == []


@pytest.mark.parametrize("kind", sorted(STUDY_VIEWS))
def test_every_interactive_widget_of_a_study_view_has_an_accessible_name(qtbot, registry, kind):
    view = study_view_class(kind)(registry)
    qtbot.addWidget(view)
    view.show()
    unnamed = [describe(w) for w in interactive_widgets(view) if not accessible_name(w)]
    assert unnamed == []
    assert unnamed_curves(view) == []


def test_the_names_in_the_docs_are_the_window_s(make_window):
    """docs/testing.md lists the stable objectNames; each is found in the window (or its plots)."""
    window = make_window()
    section = DOCS.read_text(encoding="utf-8").split("## Stable names")[1].split("\n## ")[0]
    documented = re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)
    assert len(documented) > 20
    curves = {item.objectName() for plot in window.findChildren(pg.PlotWidget)
              for item in plot.getPlotItem().listDataItems()}
    names = {o.objectName() for o in window.findChildren(QObject)} | curves
    placeholders = [name for name in documented if "<" in name]  # e.g. <param>, one per parameter
    missing = [name for name in documented if name not in names and name not in placeholders]
    assert missing == []
    assert window.findChild(QAbstractButton, "run-button").accessibleName() == "Run"
    assert window.findChild(QComboBox, "model-picker") is window.pipelines.deep.editors[0].model.combo
