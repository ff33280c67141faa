"""Multi-layer perceptron on raw pixels: the baseline with no idea of space."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn


def build(
    in_channels: int,
    image_size: tuple[int, int],
    num_classes: int,
    hidden: int,
    layers: int,
    dropout: float,
) -> nn.Module:
    """Flatten the image, then ``layers`` fully connected ReLU layers of ``hidden`` units."""
    width = in_channels * image_size[0] * image_size[1]
    body: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    for index in range(1, layers + 1):
        body[f"fc{index}"] = nn.Linear(width, hidden)
        body[f"relu{index}"] = nn.ReLU()
        body[f"dropout{index}"] = nn.Dropout(dropout)
        width = hidden
    return nn.Sequential(OrderedDict(hidden=nn.Sequential(body), classifier=nn.Linear(width, num_classes)))
