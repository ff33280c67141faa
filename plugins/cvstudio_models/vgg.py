"""A small VGG-style network (Simonyan & Zisserman, 2014): stacked 3×3 convolutions."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

MAX_WIDTH_FACTOR = 8  # VGG doubles its filters per block up to 8× the first (64 → 512)


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two conv-batchnorm-ReLU layers, then a 2×2 max-pool that halves the image.

    ``ceil_mode`` keeps odd sizes (7×7 → 4×4) and a 1×1 map alive, so deep
    settings still work on tiny images.
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for index, channels in enumerate((in_channels, out_channels), start=1):
        layers[f"conv{index}"] = nn.Conv2d(channels, out_channels, kernel_size=3, padding=1, bias=False)
        layers[f"bn{index}"] = nn.BatchNorm2d(out_channels)
        layers[f"relu{index}"] = nn.ReLU(inplace=True)
    layers["pool"] = nn.MaxPool2d(2, ceil_mode=True)
    return nn.Sequential(layers)


def build(
    in_channels: int,
    image_size: tuple[int, int],
    num_classes: int,
    width: int,
    blocks: int,
    dropout: float,
) -> nn.Module:
    """``blocks`` VGG blocks of ``width``, 2×width, 4×width… filters, then global average pooling."""
    features: OrderedDict[str, nn.Module] = OrderedDict()
    channels = in_channels
    for index in range(blocks):
        out_channels = width * min(2**index, MAX_WIDTH_FACTOR)
        features[f"block{index + 1}"] = _block(channels, out_channels)
        channels = out_channels
    classifier = nn.Sequential(
        OrderedDict(flatten=nn.Flatten(), dropout=nn.Dropout(dropout), fc=nn.Linear(channels, num_classes))
    )
    return nn.Sequential(
        OrderedDict(features=nn.Sequential(features), pool=nn.AdaptiveAvgPool2d(1), classifier=classifier)
    )
