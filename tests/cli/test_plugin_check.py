"""`cvstudio plugin check`: loads plugins as the app does, runs every contract check, exit status for CI."""

import re
import textwrap

import pytest

from cvstudio.cli import main

GOOD = """
import numpy as np
from cvstudio import ClassifierSpec, FeatureExtractorSpec, hookimpl
from cvstudio.core.features import FeatureExtractor, to_gray

class Brightness(FeatureExtractor):
    name = "brightness"
    def output_dim(self, shape):
        return 1
    def transform(self, images):
        return to_gray(images).mean(axis=(1, 2))[:, None].astype(np.float32)

@hookimpl
def cvstudio_register_feature_extractors():
    return [FeatureExtractorSpec(name="brightness", description="Mean brightness.", factory=Brightness)]

@hookimpl
def cvstudio_register_classifiers():
    return [ClassifierSpec(name="ridge", description="Ridge.", factory="sklearn.linear_model:RidgeClassifier")]
"""

# The mistake an author made: to_gray gives 0..1, the threshold assumes 0..255, so every feature is 0.
CONSTANT_FEATURE = """
import numpy as np
from cvstudio import FeatureExtractorSpec, hookimpl
from cvstudio.core.features import FeatureExtractor, to_gray

class Bright(FeatureExtractor):
    name = "bright-fraction"
    def output_dim(self, shape):
        return 1
    def transform(self, images):
        return (to_gray(images) > 128).mean(axis=(1, 2))[:, None].astype(np.float32)

@hookimpl
def cvstudio_register_feature_extractors():
    return [FeatureExtractorSpec(name="bright-fraction", description="Bright pixels.", factory=Bright)]
"""

DEAF_MODEL = """
import torch
from cvstudio import ModelSpec, hookimpl

class Deaf(torch.nn.Module):
    def __init__(self, in_channels, image_size, num_classes):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(num_classes))
    def forward(self, x):
        return self.bias.expand(len(x), -1)

@hookimpl
def cvstudio_register_models():
    return [ModelSpec(name="deaf", description="Ignores its input.", factory=Deaf)]
"""

NO_HOOKIMPL = """
from cvstudio import ClassifierSpec

def cvstudio_register_classifiers():
    return [ClassifierSpec(name="forgot", description="x", factory="sklearn.linear_model:RidgeClassifier")]
"""


@pytest.fixture
def plugin_folder(tmp_path, monkeypatch):
    """A folder of single-file plugins on CVSTUDIO_PLUGIN_PATH; write(name, source) adds one."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    monkeypatch.setenv("CVSTUDIO_PLUGIN_PATH", str(folder))

    def write(name, source):
        (folder / f"{name}.py").write_text(textwrap.dedent(source))

    return write


def test_a_good_plugin_passes_every_component(plugin_folder, capsys):
    plugin_folder("good", GOOD)
    assert main(["plugin", "check", "good"]) == 0
    out = capsys.readouterr().out
    assert "ok      feature extractor 'brightness'" in out and "ok      classifier 'ridge'" in out
    assert out.rstrip().endswith("1 plugin(s), 2 component(s) checked: all passed")


def test_without_a_name_every_plugin_but_the_built_ins_is_checked(plugin_folder, capsys):
    plugin_folder("good", GOOD)
    plugin_folder("deaf", DEAF_MODEL)
    assert main(["plugin", "check"]) == 1
    out = capsys.readouterr().out
    assert "good  [file]" in out and "deaf  [file]" in out and "[built-in]" not in out


@pytest.mark.parametrize("source, message", [
    (CONSTANT_FEATURE, "gives the same features for 18 different images.*to_gray returns float32 in 0..1"),
    (DEAF_MODEL, "model 'deaf' gives the same output for 4 different images: its output ignores its input"),
    (NO_HOOKIMPL, "provides nothing.*mark each hook function with @cvstudio.hookimpl"),
    ("import not_a_module_anywhere\n", "loading: could not load: No module named 'not_a_module_anywhere'"),
])
def test_a_degenerate_or_broken_plugin_fails_with_the_reason(plugin_folder, capsys, source, message):
    plugin_folder("bad", source)
    assert main(["plugin", "check", "bad"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "1 failure(s)" in out
    assert re.search(message, out), out


def test_debug_after_the_subcommand_shows_the_traceback(plugin_folder, capsys):
    plugin_folder("deaf", DEAF_MODEL)
    assert main(["plugin", "check", "deaf", "--debug"]) == 1
    out = capsys.readouterr().out
    assert "Traceback (most recent call last)" in out and "ContractError" in out


def test_an_unknown_name_lists_the_loaded_plugins(plugin_folder, capsys):
    plugin_folder("good", GOOD)
    assert main(["plugin", "check", "godo"]) == 2
    err = capsys.readouterr().err
    assert "no plugin named 'godo' is loaded; did you mean 'good'? (loaded: classifiers, datasets, features, models, good)" in err


def test_with_nothing_to_check_it_says_how_to_name_one(capsys):
    assert main(["plugin", "check"]) == 2
    assert "e.g. `cvstudio plugin check features`" in capsys.readouterr().err
