"""Every error a plugin causes names the plugin, the component, the problem and the fix."""

import pickle

import pytest

from cvstudio import ComponentError, FeatureExtractorSpec, Param, SpecError
from cvstudio.cli import main
from cvstudio.plugins import load_registry

BAD_DEFAULT = """
from cvstudio import FeatureExtractorSpec, Param, hookimpl

@hookimpl
def cvstudio_register_feature_extractors():
    return [FeatureExtractorSpec(name="texture", description="x", factory="m:f",
                                 params=(Param("grid", "int", "four"),))]
"""

RAISING_FACTORY = """
from cvstudio import ClassifierSpec, hookimpl

def build():
    raise ValueError("alpha must be set")

@hookimpl
def cvstudio_register_classifiers():
    return [ClassifierSpec(name="broken-ridge", description="x", factory=build)]
"""


def load(tmp_path, **files):
    for name, source in files.items():
        (tmp_path / f"{name}.py").write_text(source)
    return load_registry(autoload=False, directories=[tmp_path])


def test_an_invalid_default_names_the_spec_the_parameter_and_that_it_is_the_default(tmp_path):
    (error,) = load(tmp_path, texture=BAD_DEFAULT).plugins["texture"].errors
    assert error.plugin == "texture" and error.hook == "cvstudio_register_feature_extractors"
    assert ("feature extractor 'texture': the default of parameter 'grid' must be a number, got 'four'; "
            "fix the default in its Param") in error.message


def test_an_invalid_value_names_the_spec_and_the_parameter():
    spec = FeatureExtractorSpec(name="texture", description="x", factory=dict,
                                params=(Param("grid", "int", 4, minimum=1, maximum=8),))
    with pytest.raises(SpecError, match="^feature extractor 'texture': parameter 'grid' is 9, above its maximum 8$"):
        spec.resolve({"grid": 9})


def test_a_raising_factory_names_plugin_component_error_and_fix(tmp_path):
    registry = load(tmp_path, ridgeplugin=RAISING_FACTORY)
    with pytest.raises(ComponentError) as caught:
        registry.get("classifiers", "broken-ridge").create()
    message = str(caught.value)
    assert message.startswith("classifier 'broken-ridge' from plugin 'ridgeplugin' could not be built: "
                              "its factory build raised ValueError: alpha must be set. Where that does not say "
                              "what to change, it is a bug in the plugin")
    assert "`cvstudio --debug`" in message and isinstance(caught.value.__cause__, ValueError)
    # A cluster's worker sends it back pickled; where the plugin's factory is not importable, its message still is.
    rebuilt = pickle.loads(pickle.dumps(caught.value))
    assert type(rebuilt) is ComponentError and str(rebuilt) == message


def test_an_unimportable_factory_is_a_component_error_too(tmp_path):
    spec = load(tmp_path).get("datasets", "shapes")
    broken = FeatureExtractorSpec(name="ghost", description="x", factory="no_such_module:Ghost")
    with pytest.raises(ComponentError, match="its factory no_such_module:Ghost raised ModuleNotFoundError"):
        broken.create()
    assert spec.plugin == "datasets"


def test_cvstudios_own_errors_pass_through_unwrapped(tmp_path):
    from cvstudio.core.data import DatasetError

    spec = load(tmp_path).get("datasets", "image-folder")
    with pytest.raises(DatasetError):
        spec.create(root=str(tmp_path / "missing"))


def test_the_banner_summary_names_each_failing_plugin_and_its_problem(tmp_path):
    registry = load(tmp_path, texture=BAD_DEFAULT, broken="import not_installed_anywhere\n")
    summary = registry.error_summary()
    assert summary.startswith("2 plugins have errors: 'broken' (failed): could not load: No module named")
    assert "'texture' (failed): in cvstudio_register_feature_extractors: SpecError: feature extractor 'texture'" in summary
    assert summary.endswith("The Plugins view shows the details and tracebacks.")
    assert load(tmp_path / "none").error_summary() == ""


def test_debug_after_plugins_shows_each_errors_traceback(tmp_path, monkeypatch, capsys):
    load(tmp_path, broken="import not_installed_anywhere\n")
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(tmp_path))
    assert main(["plugins"]) == 1
    plain = capsys.readouterr().out
    assert "Traceback" not in plain and "cvstudio plugins --debug shows each error's traceback" in plain
    assert main(["plugins", "--debug"]) == 1
    out = capsys.readouterr().out
    assert "Traceback (most recent call last)" in out and "ModuleNotFoundError" in out


def test_debug_after_run_shows_the_traceback_of_a_failed_run(tmp_path, monkeypatch, capsys):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "ridgeplugin.py").write_text(RAISING_FACTORY)
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(tmp_path / "plugins"))
    experiment = tmp_path / "exp.toml"
    experiment.write_text('[dataset]\nname = "shapes"\nparams = { per_class = 10 }\n'
                          '[[classical]]\nfeatures = ["color-moments"]\nclassifier = "broken-ridge"\n')
    assert main(["run", str(experiment), "--out", str(tmp_path / "runs"), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ValueError: alpha must be set" in err
    assert "classifier 'broken-ridge' from plugin 'ridgeplugin' could not be built" in err


WRONG_SHAPE = """
import torch
from cvstudio import ModelSpec, hookimpl

def build(in_channels, image_size, num_classes):
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(num_classes + 1))

@hookimpl
def cvstudio_register_models():
    return [ModelSpec(name="wide", description="One output too many.", factory=build)]
"""


def test_a_model_of_the_wrong_shape_is_named_with_its_plugin(tmp_path):
    from cvstudio.contracts import make_tiny_dataset
    from cvstudio.core.training import TrainingError, build_model

    spec = load(tmp_path, wideplugin=WRONG_SHAPE).get("models", "wide")
    with pytest.raises(TrainingError, match=r"^model 'wide' from plugin 'wideplugin' returned shape \(2, 4\) for 2 "
                                            r"images; expected \(2, 3\).*must have num_classes outputs"):
        build_model(spec, {}, make_tiny_dataset())
