"""Plugin loading: every failure is recorded against its plugin and the rest still loads."""

import textwrap
from types import SimpleNamespace

import pytest

from cvstudio import DatasetSpec, ModelSpec, hookimpl
from cvstudio.plugins import BUILTIN, FILE, UnknownComponentError, load_registry

BUILTIN_PLUGINS = {"datasets", "features", "classifiers", "models"}


def write_plugin(directory, name, body):
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_builtins_register_through_entry_points(cvstudio_registry):
    builtins = {n for n, info in cvstudio_registry.plugins.items() if info.source == BUILTIN}
    assert builtins == BUILTIN_PLUGINS
    assert not cvstudio_registry.errors
    assert "linear-svm" in cvstudio_registry.specs("classifiers")


def test_single_file_plugin_adds_specs(tmp_path, cvstudio_registry_with):
    write_plugin(tmp_path, "mine", """
        from cvstudio import hookimpl, DatasetSpec
        @hookimpl
        def cvstudio_register_datasets():
            return [DatasetSpec(name="my-data", description="Mine.", factory="cvstudio.testing:make_tiny_dataset")]
    """)
    registry = cvstudio_registry_with(directories=[tmp_path])
    assert registry.plugins["mine"].source == FILE
    assert registry.plugin_of("datasets", "my-data") == "mine"
    assert registry.get("datasets", "my-data").create().num_classes == 3


def test_plugin_path_environment_variable(tmp_path, monkeypatch):
    write_plugin(tmp_path, "envplug", """
        from cvstudio import hookimpl, ClassifierSpec
        @hookimpl
        def cvstudio_register_classifiers():
            return [ClassifierSpec(name="env-clf", description="From the env.", factory="sklearn.svm:SVC")]
    """)
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(tmp_path))
    assert "env-clf" in load_registry(autoload=False).specs("classifiers")


def test_user_plugin_dir_loads_only_with_autoload(tmp_path, monkeypatch):
    from cvstudio.plugins import user_plugin_dir

    directory = user_plugin_dir()
    directory.mkdir(parents=True)
    write_plugin(directory, "userplug", """
        from cvstudio import hookimpl, ClassifierSpec
        @hookimpl
        def cvstudio_register_classifiers():
            return [ClassifierSpec(name="user-clf", description="x", factory="sklearn.svm:SVC")]
    """)
    assert "user-clf" in load_registry(autoload=True).specs("classifiers")
    assert "user-clf" not in load_registry(autoload=False).specs("classifiers")


def test_import_error_is_recorded_and_others_load(tmp_path, cvstudio_registry_with):
    write_plugin(tmp_path, "broken", "import does_not_exist_anywhere\n")
    registry = cvstudio_registry_with(directories=[tmp_path])
    info = registry.plugins["broken"]
    assert info.status == "failed"
    assert "No module named 'does_not_exist_anywhere'" in info.errors[0].message
    assert "Traceback" in info.errors[0].traceback
    assert "lenet5" in registry.specs("models")


def test_raising_hook_is_isolated_from_the_plugins_other_hooks():
    class Half:
        @hookimpl
        def cvstudio_register_models(self):
            raise RuntimeError("model zoo offline")

        @hookimpl
        def cvstudio_register_datasets(self):
            return [DatasetSpec(name="half-data", description="x", factory="cvstudio.testing:make_tiny_dataset")]

    registry = load_registry(autoload=False, extra_plugins=[Half()])
    info = registry.plugins["Half"]
    assert info.status == "partly loaded"
    assert info.errors[0].hook == "cvstudio_register_models"
    assert "model zoo offline" in info.errors[0].message
    assert "half-data" in registry.specs("datasets") and "lenet5" in registry.specs("models")


def test_invalid_spec_inside_hook_is_recorded(tmp_path, cvstudio_registry_with):
    write_plugin(tmp_path, "badspec", """
        from cvstudio import hookimpl, ModelSpec, Param
        @hookimpl
        def cvstudio_register_models():
            return [ModelSpec(name="net", description="x", factory="m:f", params=(Param("w", "int", "wide"),))]
    """)
    registry = cvstudio_registry_with(directories=[tmp_path])
    assert "must be a number" in registry.plugins["badspec"].errors[0].message
    assert "net" not in registry.specs("models")


def test_wrong_return_types_are_recorded():
    plugin = SimpleNamespace(
        cvstudio_register_models=hookimpl(lambda: "lenet"),
        cvstudio_register_datasets=hookimpl(lambda: [ModelSpec(name="x", description="x", factory="m:f")]),
    )
    plugin.__name__ = "wrongtypes"
    registry = load_registry(autoload=False, extra_plugins=[plugin])
    messages = [e.message for e in registry.plugins["wrongtypes"].errors]
    assert any("not a list of specs" in m for m in messages)
    assert any("not a DatasetSpec" in m for m in messages)


def test_duplicate_name_keeps_the_first_and_reports_the_second(tmp_path, cvstudio_registry_with):
    write_plugin(tmp_path, "dup", """
        from cvstudio import hookimpl, ModelSpec
        @hookimpl
        def cvstudio_register_models():
            return [ModelSpec(name="lenet5", description="An impostor.", factory="m:f"),
                    ModelSpec(name="fresh-net", description="New.", factory="m:f")]
    """)
    registry = cvstudio_registry_with(directories=[tmp_path])
    assert registry.plugin_of("models", "lenet5") == "models"
    assert "duplicate model name 'lenet5', already provided by 'models'" in registry.plugins["dup"].errors[0].message
    assert "fresh-net" in registry.specs("models")


def test_misspelled_hook_is_rejected_with_a_suggestion(tmp_path, cvstudio_registry_with):
    write_plugin(tmp_path, "typo", """
        from cvstudio import hookimpl
        @hookimpl
        def cvstudio_register_model():
            return []
    """)
    registry = cvstudio_registry_with(directories=[tmp_path])
    error = registry.plugins["typo"].errors[0]
    assert "unknown hook 'cvstudio_register_model'" in error.message
    assert "did you mean 'cvstudio_register_models'" in error.message
    assert registry.plugin_manager.get_plugin("typo") is None


def test_unknown_component_message_suggests_close_names(cvstudio_registry):
    with pytest.raises(UnknownComponentError, match="unknown model 'lenet'; did you mean 'lenet5'"):
        cvstudio_registry.get("models", "lenet")


def test_registries_are_independent():
    class Extra:
        @hookimpl
        def cvstudio_register_classifiers(self):
            from cvstudio import ClassifierSpec
            return [ClassifierSpec(name="only-here", description="x", factory="m:f")]

    assert "only-here" in load_registry(autoload=False, extra_plugins=[Extra()]).specs("classifiers")
    assert "only-here" not in load_registry(autoload=False).specs("classifiers")
