"""Reloading and disabling plugins, panel specs, and listing plugins without importing Qt."""

import json
import subprocess
import sys
import textwrap

import pytest

from cvstudio import PanelSpec, SpecError, hookimpl
from cvstudio.plugins import load_registry

MODEL_PLUGIN = """
from cvstudio import ModelSpec, hookimpl

@hookimpl
def cvstudio_register_models():
    return [ModelSpec(name="{name}", description="A plugin model.", factory="cvstudio_models.mlp:build")]
"""


def write_model_plugin(directory, name):
    (directory / "mine.py").write_text(textwrap.dedent(MODEL_PLUGIN.format(name=name)))


def test_reload_reads_an_edited_file_again(tmp_path):
    write_model_plugin(tmp_path, "first-net")
    registry = load_registry(autoload=False, directories=[tmp_path])
    write_model_plugin(tmp_path, "second-net")
    reloaded = registry.reload()
    assert "second-net" in reloaded.specs("models") and "first-net" not in reloaded.specs("models")
    assert "first-net" in registry.specs("models"), "the old registry is left as it was"


def test_a_disabled_plugin_is_listed_but_not_loaded_and_stays_disabled_on_reload(tmp_path):
    write_model_plugin(tmp_path, "my-net")
    registry = load_registry(autoload=False, directories=[tmp_path], disabled=["mine"])
    assert registry.plugins["mine"].status == "disabled" and registry.disabled == {"mine"}
    assert "my-net" not in registry.specs("models") and registry.plugin_manager.get_plugin("mine") is None
    assert registry.reload().disabled == {"mine"}
    assert "my-net" in registry.reload(disabled=[]).specs("models")


def test_given_plugins_are_registered_again_on_reload():
    class Panels:
        @hookimpl
        def cvstudio_register_panels(self):
            return [PanelSpec(name="hello", description="Says hello.", factory="mypkg.panel:Hello")]

    registry = load_registry(autoload=False, extra_plugins=[Panels()])
    assert registry.reload().plugin_of("panels", "hello") == "Panels"


def test_a_panel_area_must_be_one_the_window_has():
    with pytest.raises(SpecError, match="panel 'hello' has area 'top'; use one of left, right, bottom"):
        PanelSpec(name="hello", description="x", factory="m:f", area="top")


def qt_modules_imported_by(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter (this one has Qt loaded already) and list the PySide6 modules it imported."""
    code += "; import json, sys; print(json.dumps(sorted(m for m in sys.modules if m.startswith('PySide6'))))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_listing_a_panel_plugin_imports_no_qt(tmp_path):
    (tmp_path / "dock.py").write_text(textwrap.dedent("""
        from cvstudio import PanelSpec, hookimpl

        @hookimpl
        def cvstudio_register_panels():
            return [PanelSpec(name="notes", description="Notes.", factory="PySide6.QtWidgets:QPlainTextEdit")]
    """))
    code = (
        "from pathlib import Path; from cvstudio.plugins import load_registry; "
        f"r = load_registry(autoload=False, directories=[Path({str(tmp_path)!r})]); "
        "assert 'notes' in r.specs('panels'), r.errors"
    )
    assert qt_modules_imported_by(code) == []


def test_the_shipped_pytest_plugin_imports_no_qt():
    assert qt_modules_imported_by("import cvstudio.testing") == []
    assert "PySide6.QtCore" in qt_modules_imported_by("import PySide6.QtCore")  # the check sees Qt when it is there
