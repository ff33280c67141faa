"""MLP-Mixer (Tolstikhin et al., 2021): patches mixed by plain MLPs, across space then across features."""

from __future__ import annotations

import torch
from torch import nn

from cvstudio_models.common import PatchEmbedding, feed_forward

# Hidden units of the two MLPs per channel, as in the paper (Mixer-S: 256 and 2048 for 512 channels).
TOKEN_RATIO = 0.5
CHANNEL_RATIO = 4


class MixerBlock(nn.Module):
    """Token mixing (each channel across all patches), then channel mixing (each patch on its own)."""

    def __init__(self, num_patches: int, dim: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_mlp = feed_forward(num_patches, int(dim * TOKEN_RATIO))
        self.norm2 = nn.LayerNorm(dim)
        self.channel_mlp = feed_forward(dim, dim * CHANNEL_RATIO)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens + self.token_mlp(self.norm1(tokens).transpose(1, 2)).transpose(1, 2)
        return tokens + self.channel_mlp(self.norm2(tokens))


class MLPMixer(nn.Module):
    """Patch embedding, ``depth`` mixer blocks, average over patches, linear classifier."""

    def __init__(
        self, in_channels: int, image_size: tuple[int, int], num_classes: int, patch_size: int, dim: int, depth: int
    ) -> None:
        super().__init__()
        self.patch_embed = PatchEmbedding(in_channels, image_size, patch_size, dim)
        self.blocks = nn.Sequential(*(MixerBlock(self.patch_embed.num_patches, dim) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.norm(self.blocks(self.patch_embed(images)))
        return self.head(tokens.mean(dim=1))

