"""LeNet-5 (LeCun et al., 1998): two convolution/pooling stages, three fully connected layers."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}


def build(in_channels: int, image_size: tuple[int, int], num_classes: int, activation: str) -> nn.Module:
    """LeNet-5 with padded 5×5 convolutions, so images down to 8×8 still fit.

    The two 2×2 poolings quarter each side, so fc1 takes 16 maps of
    (height // 4) × (width // 4) values and grows with the image (the
    paper's unpadded convolutions left 16×5×5 = 400 on 32×32 digits).
    """
    act = ACTIVATIONS[activation]
    features = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(in_channels, 6, kernel_size=5, padding=2),
            act1=act(),
            pool1=nn.MaxPool2d(2),
            conv2=nn.Conv2d(6, 16, kernel_size=5, padding=2),
            act2=act(),
            pool2=nn.MaxPool2d(2),
        )
    )
    classifier = nn.Sequential(
        OrderedDict(
            flatten=nn.Flatten(),
            fc1=nn.Linear(16 * (image_size[0] // 4) * (image_size[1] // 4), 120),
            act1=act(),
            fc2=nn.Linear(120, 84),
            act2=act(),
            fc3=nn.Linear(84, num_classes),
        )
    )
    return nn.Sequential(OrderedDict(features=features, classifier=classifier))
