"""Pieces shared by the built-in models: parameter counting, patch embedding, MLP blocks.

Imported only by the model modules, never by the package itself, so listing
the models does not import torch.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


def count_parameters(module: nn.Module) -> int:
    """Number of trainable weights: what a learner compares between models."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def patch_grid(image_size: tuple[int, int], patch_size: int) -> tuple[int, int]:
    """Rows and columns of patches; a ValueError that names the fix if they do not tile."""
    height, width = image_size
    if height % patch_size == 0 and width % patch_size == 0:
        return height // patch_size, width // patch_size
    fits = [p for p in range(1, min(height, width) + 1) if height % p == 0 and width % p == 0]
    nearest = [patch_size * max(1, round(side / patch_size)) for side in image_size]
    raise ValueError(
        f"images of {height}×{width} pixels do not split into {patch_size}×{patch_size} patches; "
        f"set patch_size to one of {', '.join(map(str, fits))}, "
        f"or resize the images to {nearest[0]}×{nearest[1]}"
    )


class PatchEmbedding(nn.Module):
    """Cut the image into square patches and turn each into a ``dim``-long token.

    One Conv2d whose stride equals its kernel does both at once, so the patch
    filters are the first-layer filters the app shows, as for a CNN.
    """

    def __init__(self, in_channels: int, image_size: tuple[int, int], patch_size: int, dim: int) -> None:
        super().__init__()
        self.image_size = tuple(image_size)
        rows, cols = patch_grid(self.image_size, patch_size)
        self.num_patches = rows * cols
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[-2:]) != self.image_size:
            raise ValueError(
                f"this model was built for {self.image_size[0]}×{self.image_size[1]} images, "
                f"got {images.shape[-2]}×{images.shape[-1]}; rebuild it for the new size"
            )
        return self.proj(images).flatten(2).transpose(1, 2)


def feed_forward(features: int, hidden: int) -> nn.Sequential:
    """Linear, GELU, Linear back to ``features``: the MLP inside Transformer and Mixer blocks."""
    return nn.Sequential(
        OrderedDict(fc1=nn.Linear(features, hidden), gelu=nn.GELU(), fc2=nn.Linear(hidden, features))
    )
