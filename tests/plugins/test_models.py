"""The built-in models: every spec builds for any small image, learns, and stays lazy."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

import cvstudio_models
from cvstudio import ComponentError, ModelSpec
from cvstudio_models.common import count_parameters

SPECS = {spec.name: spec for spec in cvstudio_models.cvstudio_register_models()}
PATCH_MODELS = ("vit-small", "mlp-mixer")
SHAPES = [  # (in_channels, image_size, num_classes)
    (1, (28, 28), 10),
    (3, (32, 32), 5),
    (3, (16, 16), 3),
    (3, (8, 8), 2),
    (1, (64, 64), 4),
    (3, (16, 24), 3),
]


def _weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def test_registers_the_six_models_with_learner_text() -> None:
    assert set(SPECS) == {"mlp", "lenet5", "vgg-small", "resnet18", "vit-small", "mlp-mixer"}
    for spec in SPECS.values():
        assert isinstance(spec, ModelSpec)
        assert spec.title and spec.year and len(spec.description) > 200
        assert all(param.help for param in spec.params)


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize(("channels", "size", "classes"), SHAPES)
def test_output_is_one_logit_per_class(name: str, channels: int, size: tuple[int, int], classes: int) -> None:
    model = SPECS[name].create(channels, size, classes).eval()
    with torch.no_grad():
        logits = model(torch.rand(2, channels, *size))
    assert logits.shape == (2, classes)
    assert logits.dtype == torch.float32
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", SPECS)
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(name: str) -> None:
    torch.manual_seed(0)
    model = SPECS[name].create(3, (8, 8), 3).train()
    images, labels = torch.rand(12, 3, 8, 8), torch.arange(12) % 3
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    losses = []
    for _ in range(5):
        torch.manual_seed(1)  # the same dropout masks every step, so the losses compare like with like
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        grads = [p.grad for p in model.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if "cnn" in s.tags or "patches" in s.tags])
def test_first_weight_layer_is_a_convolution(name: str) -> None:
    layers = _weight_layers(SPECS[name].create(3, (32, 32), 10))
    assert isinstance(layers[0][1], nn.Conv2d)
    assert layers[0][1].in_channels == 3


@pytest.mark.parametrize("name", SPECS)
def test_every_weight_layer_runs_in_a_training_pass(name: str) -> None:
    """Activation snapshots hook every Conv2d and Linear: none may be skipped."""
    model = SPECS[name].create(1, (16, 16), 4).train()
    seen: set[str] = set()
    for layer_name, layer in _weight_layers(model):
        layer.register_forward_hook(lambda *_, n=layer_name: seen.add(n))
    model(torch.rand(2, 1, 16, 16))
    assert seen == {n for n, _ in _weight_layers(model)}


def test_parameter_counts_are_positive_and_tell_the_models_apart() -> None:
    counts = {name: count_parameters(spec.create(3, (32, 32), 10)) for name, spec in SPECS.items()}
    assert all(count > 0 for count in counts.values())
    assert len(set(counts.values())) == len(counts)
    assert counts["resnet18"] == max(counts.values())


def test_count_parameters_leaves_out_frozen_weights() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    model[0].requires_grad_(False)
    assert count_parameters(model) == 3 * 2 + 2


@pytest.mark.parametrize("name", SPECS)
def test_same_seed_same_weights(name: str) -> None:
    def build() -> dict[str, torch.Tensor]:
        torch.manual_seed(7)
        return SPECS[name].create(3, (16, 16), 3).state_dict()

    first, second = build(), build()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_params_change_the_network() -> None:
    small = count_parameters(SPECS["vgg-small"].create(3, (32, 32), 10, width=8, blocks=2))
    assert small < count_parameters(SPECS["vgg-small"].create(3, (32, 32), 10))
    deep = SPECS["mlp"].create(1, (8, 8), 2, layers=4, hidden=16)
    assert len(_weight_layers(deep)) == 5
    tanh = SPECS["lenet5"].create(1, (28, 28), 10, activation="tanh")
    assert any(isinstance(m, nn.Tanh) for m in tanh.modules())


@pytest.mark.parametrize("name", PATCH_MODELS)
def test_image_size_that_patches_do_not_tile_is_a_clear_error(name: str) -> None:
    with pytest.raises(ComponentError, match=r"30×30 .* 4×4 patches; set patch_size to one of 1, 2, 3, 5") as error:
        SPECS[name].create(3, (30, 30), 10)
    assert "resize the images to 32×32" in str(error.value)
    assert SPECS[name].create(3, (30, 30), 10, patch_size=5)(torch.rand(1, 3, 30, 30)).shape == (1, 10)


@pytest.mark.parametrize("name", PATCH_MODELS)
def test_patch_model_refuses_images_of_another_size(name: str) -> None:
    model = SPECS[name].create(3, (32, 32), 10)
    with pytest.raises(ValueError, match="built for 32×32 images, got 16×16"):
        model(torch.rand(1, 3, 16, 16))


def test_vit_width_must_split_across_heads() -> None:
    with pytest.raises(ComponentError, match="ValueError: dim must be a multiple of the 4 attention heads"):
        SPECS["vit-small"].create(3, (32, 32), 10, dim=30)


def test_listing_the_models_does_not_import_torch() -> None:
    code = (
        "import sys, cvstudio_models; cvstudio_models.cvstudio_register_models(); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("stem, side", [("stride2", 16), ("cifar", 32), ("imagenet", 8)])
def test_resnet_stems_differ_only_in_how_much_of_the_image_reaches_the_residual_blocks(stem, side):
    model = SPECS["resnet18"].create(3, (32, 32), 5, stem=stem)
    reached = []
    model.layer1.register_forward_hook(lambda _module, inputs, _output: reached.append(inputs[0].shape[-1]))
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 5) and reached == [side]
    blocks = [m for m in model.modules() if type(m).__name__ == "BasicBlock"]
    assert len(blocks) == 8 and count_parameters(model) > 11_000_000  # the paper's depth and widths
