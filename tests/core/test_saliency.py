import pytest
import torch

from cvstudio.core.saliency import SaliencyUnavailable, grad_cam, last_called


class BrightOrDark(torch.nn.Module):
    """Channel 0 sees bright pixels, channel 1 dark ones; class 0 scores bright, class 1 dark."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 1, bias=False)
        self.relu = torch.nn.ReLU(inplace=True)  # in place, right after the layer Grad-CAM reads
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))

    def forward(self, images):
        return self.relu(self.conv(images)).mean((2, 3))


def test_grad_cam_points_at_what_raised_the_score():
    image = torch.zeros(1, 1, 8, 8)
    image[..., 5, 6] = 1.0  # bright
    image[..., 2, 1] = -0.5  # dark
    bright = grad_cam(BrightOrDark(), image, target=0)
    dark = grad_cam(BrightOrDark(), image, target=1)
    assert bright.layer == "conv" and (bright.target, dark.target) == (0, 1)
    assert bright.heatmap.shape == (8, 8)
    assert bright.heatmap[5, 6] == pytest.approx(1.0) and bright.heatmap[2, 1] == 0.0
    assert dark.heatmap[2, 1] == pytest.approx(1.0) and dark.heatmap[5, 6] == 0.0
    assert bright.probabilities.sum() == pytest.approx(1.0)
    assert grad_cam(BrightOrDark(), image).target == int(bright.probabilities.argmax()) == 0


def test_grad_cam_works_on_every_built_in_model_with_convolutions(cvstudio_registry, tiny_dataset):
    image = torch.randn(1, tiny_dataset.channels, *tiny_dataset.image_size)
    for name, spec in cvstudio_registry.specs("models").items():
        model = spec.create(tiny_dataset.channels, tiny_dataset.image_size, tiny_dataset.num_classes)
        if last_called(model, image, torch.nn.Conv2d) is None:
            with pytest.raises(SaliencyUnavailable, match="no convolution layer"):
                grad_cam(model, image)
            continue
        cam = grad_cam(model, image)
        assert cam.heatmap.shape == tiny_dataset.image_size, name
        assert 0.0 <= cam.heatmap.min() and cam.heatmap.max() <= 1.0, name
        assert all(p.grad is None for p in model.parameters()), f"{name}: gradients left behind"


def test_a_model_without_convolutions_is_told_so():
    mlp = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    with pytest.raises(SaliencyUnavailable, match="Sequential has no convolution layer.*choose a CNN"):
        grad_cam(mlp, torch.zeros(1, 1, 4, 4))


def test_last_called_follows_the_forward_pass_not_the_declaration_order():
    class Backwards(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.late = torch.nn.Linear(4, 2)
            self.early = torch.nn.Linear(4, 4)

        def forward(self, x):
            return self.late(self.early(x))

    assert last_called(Backwards(), torch.zeros(1, 4), torch.nn.Linear)[0] == "late"
