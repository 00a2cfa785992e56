"""The GAN baseline's discriminator (the generator is :class:`~ivifmodels.cnn.FusionCNN`); it scores
one gray patch of a fixed size (128 x 128 in the paper, set by ``patch_size``).

The paper did not release the discriminator or its loss; the structure follows
``docs/models.md``. Input (B, 1, P, P) in [0, 1]; output (B, 1) in [-1, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ChannelAttention, EncoderLayer, NormFactory


def _layer_norm_over_patch(patch_size: int) -> NormFactory:
    """Norm factory: LayerNorm over the whole (c, P, P) feature map."""
    return lambda c: nn.LayerNorm([c, patch_size, patch_size])


def _conv_bn_act(c_in: int, c_out: int, act: nn.Module) -> list[nn.Module]:
    """Conv3x3 (no bias) - BatchNorm - activation."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), act]


class PatchDiscriminator(nn.Module):
    """Conv/BN stem, one encoder layer of width 3 (LayerNorm over (3, P, P), 3x3 grouped
    channel attention), Conv/BN tail, LayerNorm + Linear over the flattened patch, Tanh.
    About 350k parameters at P = 128 (350,173)."""

    def __init__(self, patch_size: int = 128, heads: int = 8, slope: float = 0.05):
        super().__init__()
        if patch_size < 1:
            raise ValueError(f"patch_size must be positive, got {patch_size}")
        self.patch_size = patch_size
        p = patch_size
        self.stem = nn.Sequential(
            *_conv_bn_act(1, 32, nn.LeakyReLU(slope)),
            *_conv_bn_act(32, 1, nn.LeakyReLU(slope)),
            nn.Conv2d(1, 3, 3, padding=1),
        )
        self.encoder = EncoderLayer(
            3,
            norm=_layer_norm_over_patch(p),
            attention=ChannelAttention(3, heads=heads, kernel_size=3),
        )
        self.tail = nn.Sequential(
            *_conv_bn_act(3, 72, nn.LeakyReLU(slope)),
            *_conv_bn_act(72, 3, nn.ReLU()),
            nn.Flatten(),
        )
        self.score = nn.Sequential(nn.LayerNorm(3 * p * p), nn.Linear(3 * p * p, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.patch_size
        if x.ndim != 4 or x.shape[1:] != (1, p, p):
            raise ValueError(f"discriminator expects (B, 1, {p}, {p}), got {tuple(x.shape)}")
        return self.score(self.tail(self.encoder(self.stem(x))))
