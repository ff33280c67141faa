"""Bad plugins not covered in tests/core/test_plugins.py: each gets a clear message, the rest still loads."""

import subprocess
import sys

from cvstudio.plugins import load_registry


def test_a_spec_without_a_name_is_recorded_with_the_rule(tmp_path):
    (tmp_path / "noname.py").write_text(
        "from cvstudio import DatasetSpec, hookimpl\n"
        "@hookimpl\n"
        "def cvstudio_register_datasets():\n"
        "    return [DatasetSpec(name='', description='Nameless.', factory='m:f')]\n"
    )
    registry = load_registry(autoload=False, directories=[tmp_path])
    assert "dataset name '' must be lower-case letters, digits" in registry.plugins["noname"].errors[0].message
    assert "shapes" in registry.specs("datasets")


def test_a_panel_spec_with_an_unknown_area_is_recorded(tmp_path):
    (tmp_path / "topdock.py").write_text(
        "from cvstudio import PanelSpec, hookimpl\n"
        "@hookimpl\n"
        "def cvstudio_register_panels():\n"
        "    return [PanelSpec(name='top', description='On top.', factory='m:f', area='top')]\n"
    )
    registry = load_registry(autoload=False, directories=[tmp_path])
    assert registry.plugins["topdock"].errors[0].hook == "cvstudio_register_panels"
    assert "use one of left, right, bottom" in registry.plugins["topdock"].errors[0].message


def test_the_shipped_pytest_plugin_imports_no_qt():
    code = "import sys, cvstudio.testing; print(sorted(m for m in sys.modules if m.startswith('PySide6')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
