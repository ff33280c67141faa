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
