"""The Plugins view: every plugin, where it came from, what it provides and what went wrong.

From here a plugin author reloads the plugins without restarting (an edited
single-file plugin takes effect, a broken one shows its error), disables or
enables a plugin (kept in the settings), opens the user plugin folder, and
installs a plugin (a wheel, a project folder or a .py file) without pip.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QFont
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cvstudio.plugin_install import PluginInstallError, install_plugin
from cvstudio.plugins import BUILTIN, PluginInfo, Registry, plugin_site_dir, user_plugin_dir
from cvstudio.qt.settings import read_json, write_json
from cvstudio.qt.theme import LIGHT, Theme
from cvstudio.specs import SPEC_TYPES
from cvstudio.qt.widgets import name_widget

DISABLED_KEY = "plugins/disabled"
PLUGIN_ROLE = Qt.ItemDataRole.UserRole


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


def disabled_plugins(settings: QSettings) -> set[str]:
    """Names of the plugins the user switched off; built-ins cannot be."""
    names = read_json(settings, DISABLED_KEY)
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def switchable(registry: Registry, names: set[str]) -> set[str]:
    """``names`` less the built-ins: the app needs those."""
    return {n for n in names if n not in registry.plugins or registry.plugins[n].source != BUILTIN}


def with_disabled_plugins(registry: Registry, settings: QSettings) -> Registry:
    """``registry`` with the plugins disabled in ``settings`` left out (reloaded only if that changes it)."""
    wanted = switchable(registry, disabled_plugins(settings))
    return registry if wanted & set(registry.plugins) == registry.disabled else registry.reload(wanted)


class PluginsPanel(QWidget):
    """Emits ``registry_changed`` with a freshly loaded registry after a reload, enable or disable."""

    registry_changed = Signal(object)

    def __init__(self, registry: Registry, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.settings = settings
        self.error_color = LIGHT.error  # until the window applies its theme
        self.reload_button = QPushButton("Reload plugins",
                                         toolTip="Load every plugin again: edited plugin files take effect")
        self.open_button = QPushButton("Open plugin folder",
                                       toolTip=f"Drop single-file plugins (*.py) in {user_plugin_dir()}")
        self.install_button = QPushButton("Install plugin…", toolTip=(
            f"Install a plugin for your user into {plugin_site_dir()}: a wheel, a project folder or a .py file"))
        install_menu = QMenu(self.install_button)
        install_menu.addAction("A wheel or single-file plugin…", self.choose_plugin_file)
        install_menu.addAction("A plugin project folder…", self.choose_plugin_folder)
        self.install_button.setMenu(install_menu)
        self.message = QLabel("Untick a plugin to disable it.")
        self.message.setObjectName("description")
        self.message.setWordWrap(True)
        self.reload_button.clicked.connect(self.reload)
        self.open_button.clicked.connect(self.open_plugin_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.reload_button)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.install_button)
        buttons.addWidget(self.message, 1)

        self.tree = name_widget(QTreeWidget(), "plugins-list", "Plugins")
        self.tree.setHeaderLabels(["Plugin", "Source", "Status", "Provides"])
        self.details = name_widget(QPlainTextEdit(readOnly=True), "plugin-details", "Plugin details")
        self.details.setFont(QFont("monospace"))
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.details)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        self.items: dict[str, QTreeWidgetItem] = {}
        self.tree.currentItemChanged.connect(self._select)
        self.tree.itemChanged.connect(self._toggled)
        self.show_registry(registry)

    def show_registry(self, registry: Registry) -> None:
        """List ``registry``'s plugins; keep the selected plugin, else select the first failing one."""
        current = self.tree.currentItem()
        selected = current.data(0, PLUGIN_ROLE) if current is not None else None
        self.registry = registry
        self.tree.blockSignals(True)  # building the items is not the user ticking boxes
        self.tree.clear()
        self.items = {info.name: self._item(info) for info in registry.plugins.values()}
        self.tree.addTopLevelItems(list(self.items.values()))
        for name, item in self.items.items():
            item.setExpanded(bool(registry.plugins[name].errors))
        for column in range(4):
            self.tree.resizeColumnToContents(column)
        self.tree.blockSignals(False)
        failing = next((n for n, i in registry.plugins.items() if i.errors), None)
        chosen = selected if selected in self.items else failing
        self.tree.setCurrentItem(self.items[chosen] if chosen else self.tree.topLevelItem(0))

    def _item(self, info: PluginInfo) -> QTreeWidgetItem:
        provides = ", ".join(f"{len(names)} {kind.replace('_', ' ')}" for kind, names in info.specs.items())
        item = QTreeWidgetItem([info.name, info.source, info.status, provides])
        item.setData(0, PLUGIN_ROLE, info.name)
        if info.source == BUILTIN:
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsUserCheckable)
        else:
            item.setCheckState(0, Qt.CheckState.Checked if info.enabled else Qt.CheckState.Unchecked)
            item.setToolTip(0, "Untick to disable this plugin; the choice is kept for the next start")
        for kind, names in info.specs.items():
            for name in names:
                child = QTreeWidgetItem([name, SPEC_TYPES[kind].kind])
                child.setData(0, PLUGIN_ROLE, info.name)
                item.addChild(child)
        for error in info.errors:
            child = QTreeWidgetItem([f"error in {error.hook or 'loading'}", "", error.message])
            child.setData(0, PLUGIN_ROLE, info.name)
            for column in range(3):
                child.setForeground(column, QBrush(QColor(self.error_color)))
            item.addChild(child)
        if info.errors:
            item.setForeground(2, QBrush(QColor(self.error_color)))
        return item

    def apply_theme(self, theme: Theme) -> None:
        """Show errors in the theme's red, the one that reads well on its background."""
        if theme.error != self.error_color:
            self.error_color = theme.error
            self.show_registry(self.registry)

    @Slot()
    def reload(self) -> None:
        """Load every plugin again, as at startup, and hand the new registry on."""
        registry = self.registry.reload(switchable(self.registry, disabled_plugins(self.settings)))
        self.show_registry(registry)
        errors = len(registry.errors)
        self.message.setText(f"Reloaded {len(registry.plugins)} plugins"
                             + (f"; {errors} error(s): select a red plugin for details." if errors else "."))
        self.registry_changed.emit(registry)

    @Slot(QTreeWidgetItem, int)
    def _toggled(self, item: QTreeWidgetItem, column: int) -> None:
        name = item.data(0, PLUGIN_ROLE)
        if column != 0 or item.parent() is not None or not switchable(self.registry, {name}):
            return
        disabled = disabled_plugins(self.settings)
        if item.checkState(0) == Qt.CheckState.Checked:
            disabled.discard(name)
        else:
            disabled.add(name)
        write_json(self.settings, DISABLED_KEY, sorted(disabled))
        QTimer.singleShot(0, self.reload)  # reloading rebuilds the tree: not while inside this item's signal

    @Slot()
    def open_plugin_folder(self) -> None:
        """Open the user plugin folder in the file manager, creating it first."""
        folder = user_plugin_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.message.setText(f"No file manager could be opened; the plugin folder is {folder}")

    @Slot()
    def choose_plugin_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Install a plugin", str(Path.home()),
                                              "Plugins (*.whl *.py);;All files (*)")
        if path:
            self.install_from(Path(path))

    @Slot()
    def choose_plugin_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Install a plugin project", str(Path.home()))
        if path:
            self.install_from(Path(path))

    def install_from(self, source: Path) -> None:
        """Install ``source`` and reload, so the new plugin is listed; a failure is shown and changes nothing."""
        try:
            installed = install_plugin(source)
        except PluginInstallError as exc:
            self.message.setText(f"Not installed: {exc}")
            return
        self.reload()
        self.message.setText(f"{installed.describe()}.")

    @Slot(QTreeWidgetItem)
    def _select(self, item: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.details.setPlainText(details(self.registry, item.data(0, PLUGIN_ROLE)))
