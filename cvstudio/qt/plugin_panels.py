"""Docks that plugins add to the main window through ``cvstudio_register_panels``.

A panel whose factory raises, or returns something that is not a widget, is
recorded as an error of its plugin (shown in the Plugins view) and left out;
the window and the other panels carry on.
"""

from __future__ import annotations

import traceback
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from cvstudio.plugins import HOOKS, PluginError, Registry
from cvstudio.specs import ComponentError

AREAS = {
    "left": Qt.DockWidgetArea.LeftDockWidgetArea,
    "right": Qt.DockWidgetArea.RightDockWidgetArea,
    "bottom": Qt.DockWidgetArea.BottomDockWidgetArea,
}


def add_plugin_docks(window: QMainWindow, registry: Registry) -> dict[str, QDockWidget]:
    """Build every panel the registry's plugins provide, each in its own dock; return the docks by name."""
    docks: dict[str, QDockWidget] = {}
    for name, spec in registry.specs("panels").items():
        try:
            widget: Any = spec.create(window)
            if not isinstance(widget, QWidget):
                raise TypeError(f"its factory returned {type(widget).__name__}, not a QWidget")
        except Exception as exc:  # noqa: BLE001 - a broken panel must not stop the window
            plugin = registry.plugin_of("panels", name)
            message = str(exc) if isinstance(exc, ComponentError) else f"panel '{name}' could not be built: {exc}"
            registry.plugins[plugin].errors.append(PluginError(
                plugin, HOOKS["panels"], message,
                "".join(traceback.format_exception(exc)),
            ))
            continue
        dock = QDockWidget(spec.display_name, window)
        dock.setObjectName(f"plugin-panel-{name}")  # lets saveState/restoreState keep its place
        dock.setToolTip(spec.description)
        dock.setWidget(widget)
        window.addDockWidget(AREAS[spec.area], dock)
        neighbour = next((d for d in window.findChildren(QDockWidget)
                          if d is not dock and window.dockWidgetArea(d) == AREAS[spec.area]), None)
        if neighbour is not None:  # a tab beside the dock already there: that one keeps its full height
            window.tabifyDockWidget(neighbour, dock)
        docks[name] = dock
    return docks


def remove_plugin_docks(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    for dock in docks.values():
        window.removeDockWidget(dock)
        dock.deleteLater()
