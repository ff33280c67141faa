"""torchvision's ShuffleNet V2, untrained, with a stem for small images."""

from __future__ import annotations

from torch import nn
from torchvision.models import shufflenet_v2_x0_5, shufflenet_v2_x1_0

WIDTHS = {"0.5": shufflenet_v2_x0_5, "1.0": shufflenet_v2_x1_0}


def build(in_channels: int, image_size: tuple[int, int], num_classes: int, width: str) -> nn.Module:
    """Random weights (``weights=None``: nothing is downloaded); a 3×3 stride-1 stem and no max-pool."""
    model = WIDTHS[width](weights=None, num_classes=num_classes)
    stem = model.conv1[0]
    model.conv1[0] = nn.Conv2d(in_channels, stem.out_channels, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(model.conv1[0].weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model
