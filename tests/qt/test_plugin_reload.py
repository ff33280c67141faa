"""The Plugins view: reload without restarting, disable/enable (kept in the settings), open the plugin folder,
plugin panels docked in the window, and broken plugins shown while the app keeps working."""

from __future__ import annotations

import textwrap

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel

from cvstudio import PanelSpec, hookimpl
from cvstudio.qt.panels.plugins import DISABLED_KEY, disabled_plugins
from cvstudio.qt.settings import open_settings
from cvstudio.qt.theme import DARK, LIGHT

MODEL_PLUGIN = """
from cvstudio import ModelSpec, hookimpl

@hookimpl
def cvstudio_register_models():
    return [ModelSpec(name="{name}", description="A plugin model.", factory="cvstudio_models.mlp:build")]
"""


@pytest.fixture
def plugin_dir(tmp_path):
    directory = tmp_path / "user-plugins"
    directory.mkdir()
    return directory


def write_plugin(directory, name, body):
    (directory / f"{name}.py").write_text(textwrap.dedent(body), encoding="utf-8")


@pytest.fixture
def window_on(make_window, registry, cvstudio_registry_with, plugin_dir):
    """A window whose registry also reads the single-file plugins of ``plugin_dir``."""
    tiny = registry.plugin_manager.get_plugin("TinyData")
    return lambda *plugins: make_window(registry=cvstudio_registry_with(tiny, *plugins, directories=[plugin_dir]))


def models_offered(window):
    combo = window.pipelines.deep.editors[0].model.combo
    return {combo.itemData(i) for i in range(combo.count())}


def reload(qtbot, window):
    window.plugins.reload_button.click()
    qtbot.waitUntil(lambda: window.dataset is not None and "dataset" not in window.workers, timeout=20000)


def test_a_dropped_file_appears_on_reload_and_an_edit_takes_effect(qtbot, window_on, plugin_dir):
    window = window_on()
    assert "mine" not in window.plugins.items
    write_plugin(plugin_dir, "mine", MODEL_PLUGIN.format(name="my-net"))
    reload(qtbot, window)
    assert window.plugins.items["mine"].text(2) == "ok"
    assert "my-net" in models_offered(window) and window.registry.plugin_of("models", "my-net") == "mine"
    assert "Reloaded" in window.plugins.message.text()

    write_plugin(plugin_dir, "mine", MODEL_PLUGIN.format(name="my-net-2"))
    reload(qtbot, window)
    assert "my-net-2" in models_offered(window) and "my-net" not in models_offered(window)


def test_reload_keeps_the_experiment_when_it_still_fits(qtbot, window_on):
    window = window_on()
    editor = window.pipelines.deep.editors[0]
    editor.model.combo.setCurrentIndex(editor.model.combo.findData("mlp"))
    editor.label.setText("my MLP")
    reload(qtbot, window)
    deep = window.experiment_state()["deep"][0]
    assert deep["model"]["name"] == "mlp" and deep["label"] == "my MLP"
    assert window.tabs.widget(window.tabs.indexOf(window.pipelines)) is window.pipelines


def test_a_broken_file_shows_its_error_and_the_rest_keeps_working(qtbot, window_on, plugin_dir, wait_for_run):
    window = window_on()
    write_plugin(plugin_dir, "mine", "def cvstudio_register_models(:\n")
    reload(qtbot, window)
    item = window.plugins.items["mine"]
    assert item.text(2) == "failed" and item.isExpanded()
    window.plugins.tree.setCurrentItem(item)
    assert "SyntaxError" in window.plugins.details.toPlainText()
    assert window.banner.message.text().startswith("Plugin 'mine' (failed): could not load: ")
    assert {"lenet5", "mlp"} <= models_offered(window)

    window.run()
    wait_for_run(window)
    assert window.runs["deep"].status == "completed" and window.runs["classical"].status == "completed"


def test_errors_are_drawn_in_the_themes_red(qtbot, window_on, plugin_dir):
    write_plugin(plugin_dir, "mine", "raise ImportError('broken on purpose')\n")
    window = window_on()

    def status_color():
        return window.plugins.items["mine"].foreground(2).color().name()

    for dark in (not window.theme.dark, window.theme.dark):
        window.dark_action.setChecked(dark)
        assert status_color() == (DARK if dark else LIGHT).error


def test_disabling_a_plugin_is_kept_for_the_next_start(qtbot, window_on, plugin_dir, settings_path):
    write_plugin(plugin_dir, "mine", MODEL_PLUGIN.format(name="my-net"))
    window = window_on()
    assert "my-net" in models_offered(window)
    assert not window.plugins.items["models"].flags() & Qt.ItemFlag.ItemIsUserCheckable  # built-ins stay on

    window.plugins.items["mine"].setCheckState(0, Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: window.plugins.items["mine"].text(2) == "disabled", timeout=20000)
    assert "my-net" not in models_offered(window) and window.registry.plugins["mine"].status == "disabled"
    window.settings.sync()
    assert disabled_plugins(open_settings(settings_path)) == {"mine"}

    again = window_on()
    assert again.registry.plugins["mine"].status == "disabled" and "my-net" not in models_offered(again)
    again.plugins.items["mine"].setCheckState(0, Qt.CheckState.Checked)
    qtbot.waitUntil(lambda: "my-net" in models_offered(again), timeout=20000)
    assert again.settings.value(DISABLED_KEY) == "[]"


def test_open_plugin_folder_creates_it_and_opens_it(qtbot, window_on, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from cvstudio.plugins import user_plugin_dir

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or False)
    window = window_on()
    window.plugins.open_button.click()
    assert opened == [str(user_plugin_dir())] and user_plugin_dir().is_dir()
    assert str(user_plugin_dir()) in window.plugins.message.text()  # no file manager here: the path is shown


class LabelPanel:
    @hookimpl
    def cvstudio_register_panels(self):
        return [PanelSpec(name="hello", title="Hello", description="Says hello.", factory=_hello, area="bottom")]


def _hello(window):
    return QLabel(f"{len(window.registry.plugins)} plugins")


class BrokenPanel:
    @hookimpl
    def cvstudio_register_panels(self):
        return [PanelSpec(name="broken", description="Fails.", factory=_fail),
                PanelSpec(name="not-a-widget", description="Returns text.", factory=lambda window: "text")]


def _fail(window):
    raise RuntimeError("panel failed on purpose")


def test_a_plugin_panel_is_docked_and_a_failing_one_is_reported(qtbot, window_on):
    window = window_on(LabelPanel(), BrokenPanel())
    dock = window.plugin_docks["hello"]
    assert dock.isVisible() and dock.windowTitle() == "Hello"
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert dock.widget().text() == f"{len(window.registry.plugins)} plugins"
    assert set(window.plugin_docks) == {"hello"}
    messages = [e.message for e in window.registry.plugins["BrokenPanel"].errors]
    assert messages[0].startswith("panel 'broken' from plugin 'BrokenPanel' could not be built: its factory _fail "
                                  "raised RuntimeError: panel failed on purpose. Where that does not say")
    assert messages[1] == "panel 'not-a-widget' could not be built: its factory returned str, not a QWidget"
    assert window.plugins.items["BrokenPanel"].isExpanded()
    assert window.banner.message.text().startswith(
        "Plugin 'BrokenPanel' (partly loaded): in cvstudio_register_panels: panel 'broken' from plugin 'BrokenPanel'")
    assert "(and 1 more). The Plugins view shows the details and tracebacks." in window.banner.message.text()


def test_reload_rebuilds_plugin_docks(qtbot, window_on, plugin_dir):
    window = window_on()
    assert window.plugin_docks == {}
    write_plugin(plugin_dir, "dock", """
        from cvstudio import PanelSpec, hookimpl

        @hookimpl
        def cvstudio_register_panels():
            return [PanelSpec(name="notes", description="Notes.", factory="PySide6.QtWidgets:QPlainTextEdit")]
    """)
    reload(qtbot, window)
    first = window.plugin_docks["notes"]
    assert first.isVisible()
    window.lesson_dock.show()  # (shown when a lesson is open) the panel is a tab beside it, not a squeeze
    assert first in window.tabifiedDockWidgets(window.lesson_dock)
    reload(qtbot, window)
    assert window.plugin_docks["notes"] is not first and window.plugin_docks["notes"].isVisible()
    qtbot.waitUntil(lambda: [d.objectName() for d in window.findChildren(QDockWidget)].count("plugin-panel-notes") == 1)


def test_a_misspelled_hook_is_shown_with_the_right_name(qtbot, window_on, plugin_dir):
    write_plugin(plugin_dir, "typo", """
        from cvstudio import hookimpl

        @hookimpl
        def cvstudio_register_model():
            return []
    """)
    window = window_on()
    window.plugins.tree.setCurrentItem(window.plugins.items["typo"])
    assert "did you mean 'cvstudio_register_models'" in window.plugins.details.toPlainText()


def test_a_model_with_the_wrong_output_stops_its_run_with_a_clear_message(qtbot, window_on, plugin_dir, wait_for_run):
    write_plugin(plugin_dir, "wrongshape", """
        from cvstudio import ModelSpec, hookimpl

        def build(in_channels, image_size, num_classes):
            import torch
            return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(num_classes + 2))

        @hookimpl
        def cvstudio_register_models():
            return [ModelSpec(name="wrong-shape", description="One score too many.", factory=build)]
    """)
    window = window_on()
    model = window.pipelines.deep.editors[0].model
    model.combo.setCurrentIndex(model.combo.findData("wrong-shape"))
    window.run()
    wait_for_run(window)
    assert window.runs["deep"].status == "failed"
    assert "expected (2, 3)" in window.banner.message.text()
    assert window.runs["classical"].status == "completed" and window.run_action.isEnabled()


def test_install_plugin_lists_the_new_plugin_and_explains_a_failure(qtbot, tmp_path, settings_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from cvstudio.plugins import load_registry
    from cvstudio.qt.panels.plugins import PluginsPanel
    from cvstudio.scaffold import create_plugin

    panel = PluginsPanel(load_registry(autoload=True), open_settings(settings_path))
    qtbot.addWidget(panel)
    changed = []
    panel.registry_changed.connect(changed.append)
    broken = tmp_path / "broken-0.1-py3-none-any.whl"
    broken.write_bytes(b"")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(broken), ""))
    file_action, folder_action = panel.install_button.menu().actions()
    file_action.trigger()
    assert panel.message.text().startswith("Not installed: broken-0.1-py3-none-any.whl is not a readable wheel")
    assert not changed

    project = create_plugin("panel-edges", "feature", tmp_path)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(project))
    folder_action.trigger()
    assert panel.message.text().startswith("Installed panel-edges 0.1.0 into")
    assert panel.items["panel_edges"].text(2) == "ok"
    assert "panel_edges" in changed[-1].plugins
