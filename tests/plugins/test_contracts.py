"""Every registered spec passes the contract that plugin authors' specs must pass too."""

import numpy as np
import pytest

from cvstudio.plugins import load_registry
from cvstudio.testing import check_classifier, check_dataset, check_feature_extractor, check_model

REGISTRY = load_registry(autoload=False)
# Datasets that need files or a network are checked in tests/plugins/test_datasets.py.
NEEDS_FILES = {"image-folder", "torchvision"}


def names(kind):
    return sorted(REGISTRY.specs(kind))


@pytest.mark.parametrize("name", [n for n in names("datasets") if n not in NEEDS_FILES])
def test_dataset_contract(name):
    spec = REGISTRY.get("datasets", name)
    small = {"per_class": 10} if any(p.name == "per_class" for p in spec.params) else {}
    check_dataset(spec, **small)


@pytest.mark.parametrize("name", names("feature_extractors"))
@pytest.mark.parametrize("channels", [1, 3])
def test_feature_extractor_contract(name, channels):
    from cvstudio.testing import make_tiny_dataset

    check_feature_extractor(REGISTRY.get("feature_extractors", name), make_tiny_dataset(per_class=6, size=32, channels=channels))


@pytest.mark.parametrize("name", names("classifiers"))
def test_classifier_contract(name):
    check_classifier(REGISTRY.get("classifiers", name))


@pytest.mark.parametrize("name", names("models"))
@pytest.mark.parametrize("channels, size, classes", [(1, 28, 10), (3, 32, 5)])
def test_model_contract(name, channels, size, classes):
    assert check_model(REGISTRY.get("models", name), channels, size, classes) > 0


def test_models_report_different_parameter_counts():
    counts = {name: check_model(REGISTRY.get("models", name)) for name in names("models")}
    assert len(set(counts.values())) == len(counts)


def test_contract_catches_a_model_with_the_wrong_output():
    import torch

    from cvstudio import ModelSpec
    from cvstudio.core.training import TrainingError

    spec = ModelSpec(name="wrong", description="x", factory=lambda c, s, k: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(k + 1)))
    with pytest.raises(TrainingError, match="expected \\(2, 4\\)"):
        check_model(spec)


def test_contract_catches_a_wrong_output_dim():
    from cvstudio import FeatureExtractorSpec
    from cvstudio.core.features import FeatureExtractor

    class Liar(FeatureExtractor):
        def output_dim(self, shape):
            return 3

        def transform(self, images):
            return np.zeros((len(images), 4), np.float32)

    with pytest.raises(AssertionError, match="output_dim says 3"):
        check_feature_extractor(FeatureExtractorSpec(name="liar", description="x", factory=Liar))
