"""The Plugins view: every plugin, where it came from, what it provides, and what went wrong."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QPlainTextEdit, QSplitter, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from cvstudio.plugins import Registry
from cvstudio.specs import SPEC_TYPES

ERROR_COLOR = "#e5484d"


def details(registry: Registry, plugin: str) -> str:
    """Everything about one plugin as plain text, tracebacks included."""
    info = registry.plugins[plugin]
    lines = [f"{info.name} — {info.status}", f"source: {info.source}", f"location: {info.location}", ""]
    for kind, names in info.specs.items():
        for name in names:
            spec = registry.get(kind, name)
            lines.append(f"{SPEC_TYPES[kind].kind}: {name} — {spec.description.strip().splitlines()[0]}")
            lines += [f"    {p.describe()}" for p in spec.params]
    for error in info.errors:
        lines += ["", f"ERROR in {error.hook or 'loading'}: {error.message}", error.traceback]
    return "\n".join(lines)


class PluginsPanel(QWidget):
    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Plugin", "Source", "Status", "Provides"])
        self.details = QPlainTextEdit(readOnly=True)
        self.details.setFont(QFont("monospace"))
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.details)
        QVBoxLayout(self).addWidget(splitter)
        self.items: dict[str, QTreeWidgetItem] = {}
        for info in registry.plugins.values():
            provides = ", ".join(f"{len(names)} {kind.replace('_', ' ')}" for kind, names in info.specs.items())
            item = QTreeWidgetItem([info.name, info.source, info.status, provides])
            item.setData(0, Qt.ItemDataRole.UserRole, info.name)
            for kind, names in info.specs.items():
                for name in names:
                    child = QTreeWidgetItem([name, SPEC_TYPES[kind].kind])
                    child.setData(0, Qt.ItemDataRole.UserRole, info.name)
                    item.addChild(child)
            for error in info.errors:
                child = QTreeWidgetItem([f"error in {error.hook or 'loading'}", "", error.message])
                child.setData(0, Qt.ItemDataRole.UserRole, info.name)
                for column in range(3):
                    child.setForeground(column, QBrush(QColor(ERROR_COLOR)))
                item.addChild(child)
            if info.errors:
                item.setForeground(2, QBrush(QColor(ERROR_COLOR)))
            self.tree.addTopLevelItem(item)
            self.items[info.name] = item
        for item in self.items.values():
            item.setExpanded(bool(registry.plugins[item.data(0, Qt.ItemDataRole.UserRole)].errors))
        for column in range(4):
            self.tree.resizeColumnToContents(column)
        self.tree.currentItemChanged.connect(self._select)
        failing = next((n for n, i in registry.plugins.items() if i.errors), None)
        self.tree.setCurrentItem(self.items[failing] if failing else self.tree.topLevelItem(0))

    @Slot(QTreeWidgetItem)
    def _select(self, item: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.details.setPlainText(details(self.registry, item.data(0, Qt.ItemDataRole.UserRole)))
