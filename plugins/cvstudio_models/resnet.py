"""ResNet-18 (He et al., 2015) from torchvision, with a choice of first layer for small images."""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet18

# How the first layer meets the image: (kernel, stride, max-pool after it).
STEMS = {
    "cifar": (3, 1, False),     # a 32×32 image reaches the first residual block whole, at 32×32
    "stride2": (3, 2, False),   # at 16×16: a quarter of the computation, what fits a lesson on a CPU
    "imagenet": (7, 2, True),   # the paper's: at 8×8, which leaves little of a small image
}


def build(in_channels: int, image_size: tuple[int, int], num_classes: int, stem: str = "cifar") -> nn.Module:
    """torchvision's ResNet-18, untrained, with the chosen first layer ("stem").

    The residual blocks, their depth and widths are the paper's; only the
    stem changes with ``stem``, and ``imagenet`` keeps torchvision's own.
    """
    model = resnet18(weights=None, num_classes=num_classes)
    kernel, stride, pool = STEMS[stem]
    model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=kernel, stride=stride, padding=kernel // 2, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")  # as torchvision does
    if not pool:
        model.maxpool = nn.Identity()
    return model
