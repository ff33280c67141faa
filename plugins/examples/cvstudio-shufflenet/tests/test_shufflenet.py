"""The ShuffleNet example, tested as any third-party plugin: with the fixtures and checks cvstudio ships."""

import pytest

import cvstudio_shufflenet
from cvstudio.testing import check_model


@pytest.fixture
def spec(cvstudio_registry_with):
    registry = cvstudio_registry_with(cvstudio_shufflenet)
    assert not registry.errors
    return registry.get("models", "shufflenet-v2")


@pytest.mark.parametrize("channels, size, classes", [(1, 28, 10), (3, 32, 5)])
def test_passes_the_model_contract(spec, channels, size, classes):
    assert check_model(spec, channels, size, classes) > 0


def test_the_wider_network_has_more_weights(spec):
    def weights(width):
        return sum(p.numel() for p in spec.create(3, (32, 32), 4, width=width).parameters())

    assert weights("1.0") > 3 * weights("0.5")


def test_building_downloads_nothing(spec, monkeypatch):
    import torch.hub

    def no_download(*args, **kwargs):
        raise AssertionError("the model tried to download weights")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    check_model(spec)


def test_the_small_image_stem_keeps_the_resolution(spec):
    model = spec.create(3, (32, 32), 4)
    assert model.conv1[0].stride == (1, 1) and model.conv1[0].in_channels == 3
