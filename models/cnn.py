"""The CNN baseline (also the GAN generator): dense blocks in a pixel-(un)shuffle U-shape with
ECA-gated per-pixel fusion blocks on the skip connections.

Input ``cat([IR, VIS], 1)`` (B, 2, H, W) in [0, 1], H and W multiples of 4; output (B, 1, H, W)
in [-1, 1] (Tanh; trained against targets in [0, 1]).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import DenseBlock, Down, FusionBlock, Up, group_norm2


class FusionCNN(nn.Module):
    """CNN baseline; 214,882 parameters with the default ``in_channels=2``."""

    def __init__(self, in_channels: int = 2):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 16, 1), group_norm2(16), nn.LeakyReLU())
        self.fuse0 = FusionBlock(16, 64, gate="eca")
        self.dense1 = DenseBlock(2, 16, 4)
        self.down1 = Down(24)
        self.fuse1 = FusionBlock(48, 192, gate="eca")
        self.dense2 = DenseBlock(2, 48, 4)
        self.down2 = Down(56)
        self.fuse2 = FusionBlock(112, 448, gate="eca")
        self.dense3 = DenseBlock(2, 112, 8)
        self.up1 = Up(128)
        self.dense4 = DenseBlock(2, 112, 8)
        self.up2 = Up(128)
        self.head = nn.Sequential(
            nn.Conv2d(64 + 16 + in_channels, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 1, 1),
            nn.Tanh(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = self.stem(x)  # 16 ch, H
        s1 = self.down1(self.dense1(s0))  # 48 ch, H/2
        s2 = self.down2(self.dense2(s1))  # 112 ch, H/4
        s3 = self.up1(self.dense3(s2 + self.fuse2(s2)))  # 64 ch, H/2
        s4 = self.up2(self.dense4(torch.cat([s3, s1 + self.fuse1(s1)], 1)))  # 64 ch, H
        return self.head(torch.cat([s4, s0 + self.fuse0(s0), x], 1))
