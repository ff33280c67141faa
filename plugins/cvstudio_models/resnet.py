"""ResNet-18 (He et al., 2015) from torchvision, with a stem for small images."""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet18


def build(in_channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """torchvision's ResNet-18, untrained, with the CIFAR-style stem.

    The ImageNet stem (7×7 stride-2 convolution, then max-pool) shrinks a
    32×32 image to 8×8 before the first residual block; a 3×3 stride-1
    convolution and no max-pool keep the detail small images have.
    """
    model = resnet18(weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")  # as torchvision does
    model.maxpool = nn.Identity()
    return model
