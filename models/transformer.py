"""The Transformer baseline: channel-attention encoder layers in the same pixel-(un)shuffle
U-shape, with band-gated per-pixel fusion blocks on the skip connections.

Input ``cat([IR, VIS], 1)`` (B, 2, H, W) in [0, 1], H and W multiples of 4; output (B, 1, H, W)
in [-1, 1] (Tanh).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import Down, EncoderLayer, FusionBlock, Up, group_norm2


class FusionTransformer(nn.Module):
    """Transformer baseline; 187,417 parameters (+ 50,176 band-mask buffer values)."""

    def __init__(self, in_channels: int = 2):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, 16, 1)
        self.fuse0 = FusionBlock(16, 64, gate="band")
        self.enc1 = EncoderLayer(16, group_norm2)
        self.down1 = Down(16)
        self.fuse1 = FusionBlock(32, 96, gate="band")
        self.enc2 = EncoderLayer(32, group_norm2)
        self.down2 = Down(32)
        self.fuse2 = FusionBlock(64, 192, gate="band")
        self.enc3 = EncoderLayer(128, group_norm2)
        self.up1 = Up(128)
        self.enc4 = EncoderLayer(128, group_norm2)
        self.up2 = Up(128)
        self.head = nn.Sequential(
            nn.Conv2d(64 + 16 + 16, 32, 1), nn.ReLU(), nn.Conv2d(32, 1, 1), nn.Tanh()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = self.stem(x)  # 16 ch, H
        s1 = self.down1(self.enc1(s0))  # 32 ch, H/2
        s2 = self.down2(self.enc2(s1))  # 64 ch, H/4
        s3 = self.up1(self.enc3(torch.cat([s2, self.fuse2(s2)], 1)))  # 64 ch, H/2
        s4 = self.up2(self.enc4(torch.cat([s3, self.fuse1(s1), s1], 1)))  # 64 ch, H
        return self.head(torch.cat([s4, s0, self.fuse0(s0)], 1))
