"""Building blocks shared by the three baselines (see ``docs/models.md``).

Every block takes and returns ``(B, C, H, W)`` float tensors unless its docstring says
otherwise. Blocks that differ between the published models only in one part take that part as
an argument (the fusion-block gate, the encoder norm and attention), so no block exists twice.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

NormFactory = Callable[[int], nn.Module]


def _conv(c_in: int, c_out: int, k: int, *, bias: bool = True, groups: int = 1) -> nn.Conv2d:
    """k x k convolution with 'same' zero padding (k odd)."""
    return nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias, groups=groups)


def _per_pixel(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply ``layer`` (acting on the last axis) to every pixel of ``x`` (B, C, H, W)."""
    return layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1(2g)-BN-ReLU-Conv3x3(g), output ``cat([x, new])``: c_in + g channels."""

    def __init__(self, c_in: int, growth: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(c_in),
            nn.ReLU(),
            _conv(c_in, 2 * growth, 1, bias=False),
            nn.BatchNorm2d(2 * growth),
            nn.ReLU(),
            _conv(2 * growth, growth, 3, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


class DenseBlock(nn.Module):
    """``n_layers`` DenseLayers in a row: c_in + n_layers * growth channels out."""

    def __init__(self, n_layers: int, c_in: int, growth: int):
        super().__init__()
        self.layers = nn.Sequential(
            *(DenseLayer(c_in + i * growth, growth) for i in range(n_layers))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Down(nn.Module):
    """Conv3x3(c -> c/2) then pixel unshuffle by 2: 2c channels at half the size."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = _conv(c, c // 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_unshuffle(self.conv(x), 2)


class Up(nn.Module):
    """Pixel shuffle by 2 then Conv3x3(c/4 -> c/2): c/2 channels at double the size."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = _conv(c // 4, c // 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pixel_shuffle(x, 2))


class EcaGate(nn.Module):
    """ECA channel gate on (B, N, h) tokens: mean over N, Conv1d(k=3) across h, sigmoid."""

    def __init__(self, hidden: int):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(self.conv(x.mean(dim=1, keepdim=True)))  # (B, 1, h)
        return x * w


class BandGate(nn.Module):
    """Gate on (B, N, h) tokens: moving average over N (kernel 3, zero-padded, divisor 3),
    then Linear(h -> h) whose weight is restricted to the band |i - j| <= 1, sigmoid.

    The band mask is a fixed buffer (``mask``) because the released checkpoint stores it.
    """

    def __init__(self, hidden: int):
        super().__init__()
        self.linear = nn.Linear(hidden, hidden, bias=False)
        idx = torch.arange(hidden)
        self.register_buffer("mask", ((idx[:, None] - idx[None, :]).abs() <= 1).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        smooth = F.avg_pool1d(x.transpose(1, 2), 3, stride=1, padding=1).transpose(1, 2)
        w = torch.sigmoid(F.linear(smooth, self.linear.weight * self.mask))
        return x * w


#: Gate constructors by name, each ``gate(hidden) -> nn.Module`` on (B, N, hidden).
GATES: dict[str, Callable[[int], nn.Module]] = {"eca": EcaGate, "band": BandGate}


class FusionBlock(nn.Module):
    """Per-pixel MLP Linear(c -> h) - GELU - gate - Linear(h -> c); same shape out."""

    def __init__(self, c: int, hidden: int, gate: str):
        super().__init__()
        self.expand = nn.Linear(c, hidden)
        self.gate = GATES[gate](hidden)
        self.project = nn.Linear(hidden, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (B, HW, C), row-major pixel order
        tokens = self.project(self.gate(F.gelu(self.expand(tokens))))
        return tokens.transpose(1, 2).reshape(b, c, h, w)


class ChannelAttention(nn.Module):
    """Multi-head attention across channels (each channel one HW-long vector).

    qkv: grouped Conv(k, c -> 3*e*c, groups=c) read as (c, 3e) (per input channel e queries,
    e keys, e values); head j attends over the c vectors q[:, j], k[:, j]; q and k are
    L2-normalised over HW; softmax(q k^T * t_j) v; result laid out (c, e) channel-major, then
    grouped Conv(k, e*c -> c, groups=c).
    """

    def __init__(self, c: int, heads: int = 8, kernel_size: int = 1):
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(1, heads, 1, 1))
        self.qkv = _conv(c, 3 * heads * c, kernel_size, groups=c)
        self.out = _conv(heads * c, c, kernel_size, groups=c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        e = self.heads
        qkv = self.qkv(x).reshape(b, c, 3 * e, h * w).transpose(1, 2)  # (B, 3e, c, HW)
        q, k, v = qkv.chunk(3, dim=1)  # each (B, e, c, HW)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1) * self.temperature).softmax(dim=-1)  # (B, e, c, c)
        y = (attn @ v).transpose(1, 2).reshape(b, c * e, h, w)  # channel-major (c, e)
        return self.out(y)


class EncoderLayer(nn.Module):
    """x + attn(norm(x)); x + FF(norm(x)) with per-pixel FF Linear(c -> ff) - GELU - Linear.

    ``norm`` builds a norm for c channels; ``attention`` is the token mixer (default
    :class:`ChannelAttention` with 1x1 convolutions).
    """

    def __init__(
        self,
        c: int,
        norm: NormFactory,
        attention: nn.Module | None = None,
        ff_hidden: int = 64,
    ):
        super().__init__()
        self.attn_norm = norm(c)
        self.attn = attention if attention is not None else ChannelAttention(c)
        self.ff_norm = norm(c)
        self.ff = nn.Sequential(nn.Linear(c, ff_hidden), nn.GELU(), nn.Linear(ff_hidden, c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x))
        return x + _per_pixel(self.ff, self.ff_norm(x))


def group_norm2(c: int) -> nn.Module:
    """GroupNorm with 2 groups (the baselines' norm)."""
    return nn.GroupNorm(2, c)
