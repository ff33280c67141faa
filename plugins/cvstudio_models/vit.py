"""A small Vision Transformer (Dosovitskiy et al., 2020): patches as tokens, self-attention between them."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cvstudio_models.common import PatchEmbedding, feed_forward

HEADS = 4
MLP_RATIO = 2
DROPOUT = 0.1


class SelfAttention(nn.Module):
    """Multi-head self-attention whose projections are plain Linear layers.

    ``nn.MultiheadAttention`` uses its output projection's weights without
    calling it, so activation hooks on it never fire; here every Linear runs.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim must be a multiple of the {heads} attention heads, got {dim}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, count, dim = tokens.shape
        qkv = self.qkv(tokens).reshape(batch, count, 3, self.heads, dim // self.heads)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        mixed = F.scaled_dot_product_attention(query, key, value)
        return self.proj(mixed.transpose(1, 2).reshape(batch, count, dim))


class EncoderBlock(nn.Module):
    """Pre-norm Transformer encoder layer: attention, then an MLP, each added to its input."""

    def __init__(self, dim: int, heads: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = feed_forward(dim, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens + self.dropout(self.attn(self.norm1(tokens)))
        return tokens + self.dropout(self.mlp(self.norm2(tokens)))


class VisionTransformer(nn.Module):
    """Patch tokens and a class token, learned positions, ``depth`` encoder blocks, a head on the class token."""

    def __init__(
        self, in_channels: int, image_size: tuple[int, int], num_classes: int, patch_size: int, dim: int, depth: int
    ) -> None:
        super().__init__()
        self.patch_embed = PatchEmbedding(in_channels, image_size, patch_size, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.patch_embed.num_patches, dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.Sequential(*(EncoderBlock(dim, HEADS, dim * MLP_RATIO, DROPOUT) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.patch_embed(images)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat((cls, tokens), dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(tokens))[:, 0])
