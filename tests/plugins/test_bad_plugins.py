"""Bad plugins not covered in tests/core/test_plugins.py: each gets a clear message, the rest still loads."""

import pytest

from cvstudio.plugins import load_registry


@pytest.mark.parametrize("hook, spec, message", [
    ("cvstudio_register_datasets", "DatasetSpec(name='', description='Nameless.', factory='m:f')",
     "dataset name '' must be lower-case letters, digits"),
    ("cvstudio_register_panels", "PanelSpec(name='top', description='On top.', factory='m:f', area='top')",
     "panel 'top' has area 'top'; use one of left, right, bottom"),
])
def test_an_invalid_spec_is_recorded_against_its_hook_with_the_rule(tmp_path, hook, spec, message):
    (tmp_path / "bad.py").write_text(
        "from cvstudio import DatasetSpec, PanelSpec, hookimpl\n"
        "@hookimpl\n"
        f"def {hook}():\n"
        f"    return [{spec}]\n"
    )
    registry = load_registry(autoload=False, directories=[tmp_path])
    (error,) = registry.plugins["bad"].errors
    assert error.hook == hook and message in error.message
    assert "shapes" in registry.specs("datasets")


@pytest.mark.parametrize("code, where", [
    ("import sys\nsys.exit(3)\n", None),
    ("import sys\nfrom cvstudio import hookimpl\n@hookimpl\ndef cvstudio_register_datasets():\n    sys.exit(4)\n",
     "cvstudio_register_datasets"),
])
def test_a_plugin_calling_sys_exit_is_an_error_and_the_rest_still_loads(tmp_path, code, where):
    (tmp_path / "quitter.py").write_text(code)
    registry = load_registry(autoload=False, directories=[tmp_path])
    (error,) = registry.plugins["quitter"].errors
    assert error.hook == where and "it called sys.exit(" in error.message
    assert "shapes" in registry.specs("datasets")


def test_a_plugin_that_quits_does_not_end_the_plugins_command(tmp_path, monkeypatch, capsys):
    from cvstudio.cli import main

    (tmp_path / "quitter.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(tmp_path))
    assert main(["plugins"]) == 1
    out = capsys.readouterr().out
    assert "quitter" in out and "it called sys.exit(3)" in out and "shapes" in out


def test_ctrl_c_in_plugin_code_goes_on_up_naming_the_plugin(tmp_path):
    from cvstudio.plugins import PluginInterrupted

    (tmp_path / "slow.py").write_text("raise KeyboardInterrupt\n")
    with pytest.raises(PluginInterrupted, match=r"while loading plugin 'slow'"):
        load_registry(autoload=False, directories=[tmp_path])
