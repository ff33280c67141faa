"""The tiny experiment builder of cvstudio.testing: the bundled file, changed for one test, loads as written."""

import pytest

from cvstudio.core.experiment import load_experiment
from cvstudio.testing import TINY_STUDIES, tiny_experiment, tiny_experiment_toml, write_tiny_experiment


def test_unchanged_it_is_the_bundled_experiment(tmp_path, cvstudio_registry):
    bundled = load_experiment(tiny_experiment(), cvstudio_registry)
    written = load_experiment(write_tiny_experiment(tmp_path / "tiny.toml"), cvstudio_registry)
    assert written.to_dict() == bundled.to_dict()


def test_changes_replace_keys_remove_them_and_give_new_networks_the_tiny_training(tmp_path, cvstudio_registry):
    path = write_tiny_experiment(
        tmp_path / "scaling.toml", title="Ünïcode \"quoted\" title", description=None, study="scaling",
        dataset={"name": "shapes", "params": {"per_class": 8, "image_size": 16, "classes": 2}},
        classical=None, deep=[{"label": "MLP", "model": "mlp", "batch_size": 4}, {"label": "CNN", "model": "lenet5"}],
        epochs=1)
    experiment = load_experiment(path, cvstudio_registry)
    assert experiment.title == "Ünïcode \"quoted\" title" and experiment.description == ""
    assert experiment.study.name == "scaling" and experiment.study.params["sizes"] == [2, 6]
    assert experiment.classical == ()
    assert {k: experiment.dataset.params[k] for k in ("per_class", "image_size", "classes")} == {
        "per_class": 8, "image_size": 16, "classes": 2}
    assert [(p.label, p.training.epochs, p.training.batch_size, p.training.device) for p in experiment.deep] == [
        ("MLP", 1, 4, "cpu"), ("CNN", 1, 8, "cpu")]


@pytest.mark.parametrize("kind", TINY_STUDIES)
def test_every_tiny_study_loads(tmp_path, cvstudio_registry, kind):
    experiment = load_experiment(write_tiny_experiment(tmp_path / f"{kind}.toml", study=kind), cvstudio_registry)
    assert experiment.study.name == kind


def test_an_unknown_study_kind_says_which_have_tiny_settings():
    with pytest.raises(ValueError, match="no tiny settings for a study of kind 'nope'.*scaling, architectures"):
        tiny_experiment_toml(study="nope")
