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
            nn.ReLU(inplace=True),
            _conv(c_in, 2 * growth, 1, bias=False),
            nn.BatchNorm2d(2 * growth),
            nn.ReLU(inplace=True),
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
    """ECA channel gate on (B, h, N) features: mean over N, Conv1d(k=3) across the h channels,
    sigmoid. Returns the (B, h, 1) multiplier. Its 3 weights do not depend on ``hidden``."""

    def __init__(self, hidden: int):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x.mean(dim=2)[:, None, :])).transpose(1, 2)


class BandGate(nn.Module):
    """Gate on (B, h, N) features: moving average over N (kernel 3, zero-padded, divisor 3),
    Linear(h -> h, no bias) with the weight restricted to the band |i - j| <= 1, sigmoid.
    Returns the (B, h, N) multiplier.

    The band mask is a fixed buffer (``mask``) because the released checkpoint stores it.
    """

    def __init__(self, hidden: int):
        super().__init__()
        self.linear = nn.Linear(hidden, hidden, bias=False)
        idx = torch.arange(hidden)
        self.register_buffer("mask", ((idx[:, None] - idx[None, :]).abs() <= 1).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        smooth = F.avg_pool1d(x, 3, stride=1, padding=1)
        return torch.sigmoid((self.linear.weight * self.mask) @ smooth)


#: Gate constructors by name: ``gate(hidden)`` maps (B, h, N) to a multiplier of the features.
GATES: dict[str, Callable[[int], nn.Module]] = {"eca": EcaGate, "band": BandGate}


class FusionBlock(nn.Module):
    """Per-pixel MLP Linear(c -> h) - GELU - gate - Linear(h -> c); same shape out.

    Pixels are taken in row-major order (the order the band gate's moving average runs along).
    The matrix products run on (B, c, HW) for a contiguous input and on (B, HW, c) for a
    channels-last one, so that neither layout is copied; a per-channel gate (ECA) is folded into
    the output projection's weights instead of scaling the hidden features.
    """

    def __init__(self, c: int, hidden: int, gate: str):
        super().__init__()
        self.expand = nn.Linear(c, hidden)
        self.gate = GATES[gate](hidden)
        self.project = nn.Linear(hidden, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        flat = x.flatten(2)  # (B, c, HW): a view in both layouts
        pixels_last = x.is_contiguous(memory_format=torch.channels_last) and c > 1
        feats = F.gelu(self._linear(self.expand, flat, pixels_last))  # (B, hidden, HW)
        mult = self.gate(feats)  # (B, hidden, 1) or (B, hidden, HW)
        if mult.shape[2] == 1:  # per-channel gate: W (f * m) == (W * m^T) f
            weight = self.project.weight * mult.transpose(1, 2)
            out = self._linear(self.project, feats, pixels_last, weight)
        else:
            out = self._linear(self.project, feats * mult, pixels_last)
        return out.reshape(b, c, h, w)

    @staticmethod
    def _linear(
        layer: nn.Linear, x: torch.Tensor, pixels_last: bool, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``layer`` (optionally with a (B, out, in) ``weight``) on the channels of (B, in, N)
        features; the result is (B, out, N), stored pixel-major when ``pixels_last``."""
        weight = layer.weight.expand(x.shape[0], -1, -1) if weight is None else weight
        if pixels_last:
            out = torch.baddbmm(layer.bias, x.transpose(1, 2), weight.transpose(1, 2))
            return out.transpose(1, 2)
        return torch.baddbmm(layer.bias[:, None], weight, x)


class ChannelAttention(nn.Module):
    """Multi-head attention across channels (each channel one HW-long vector).

    qkv: grouped Conv(k, c -> 3*e*c, groups=c) read as (c, 3e) (per input channel e queries,
    e keys, e values); head j attends over the c vectors q[:, j], k[:, j]; q and k are
    L2-normalised over HW; softmax(q k^T * t_j) v; result laid out (c, e) channel-major, then
    grouped Conv(k, e*c -> c, groups=c).

    With 1x1 convolutions (``kernel_size=1``) every q, k, v map is an affine function of one
    input channel, so the whole block reduces exactly to ``M x + beta`` with a (c, c) matrix M
    built from the centred Gram matrix of x; that path (``gram=True``, the default) never forms
    the 3*e*c maps. ``gram=False`` computes the maps explicitly as published.
    """

    def __init__(self, c: int, heads: int = 8, kernel_size: int = 1, gram: bool = True):
        super().__init__()
        self.heads = heads
        self.gram = gram and kernel_size == 1
        self.temperature = nn.Parameter(torch.ones(1, heads, 1, 1))
        self.qkv = _conv(c, 3 * heads * c, kernel_size, groups=c)
        self.out = _conv(heads * c, c, kernel_size, groups=c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._attend_gram(x) if self.gram else self._attend_maps(x)

    def _attend_maps(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        e = self.heads
        qkv = self.qkv(x).reshape(b, c, 3 * e, h * w).transpose(1, 2)  # (B, 3e, c, HW)
        q, k, v = qkv.chunk(3, dim=1)  # each (B, e, c, HW)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1) * self.temperature).softmax(dim=-1)  # (B, e, c, c)
        y = (attn @ v).transpose(1, 2).reshape(b, c * e, h, w)  # channel-major (c, e)
        return self.out(y)

    def _attend_gram(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        n, e = h * w, self.heads
        flat = x.reshape(b, c, n)
        mean = flat.mean(dim=2)  # (B, c)
        centred = flat - mean[:, :, None]
        gram = centred @ centred.transpose(1, 2)  # (B, c, c)
        wqkv = self.qkv.weight.reshape(c, 3, e)  # (c, [q|k|v], head)
        bqkv = self.qkv.bias.reshape(c, 3, e)
        scale = wqkv[None].expand(b, -1, -1, -1)  # q = scale * centred + offset
        offset = wqkv[None] * mean[:, :, None, None] + bqkv[None]  # (B, c, 3, e)
        sq, sk = scale[:, :, 0].transpose(1, 2), scale[:, :, 1].transpose(1, 2)  # (B, e, c)
        oq, ok = offset[:, :, 0].transpose(1, 2), offset[:, :, 1].transpose(1, 2)
        dot = (
            sq[..., :, None] * sk[..., None, :] * gram[:, None]
            + n * oq[..., :, None] * ok[..., None, :]
        )
        diag = torch.diagonal(gram, dim1=1, dim2=2)[:, None]  # (B, 1, c)
        norm_q = (sq**2 * diag + n * oq**2).sqrt().clamp_min(1e-12)
        norm_k = (sk**2 * diag + n * ok**2).sqrt().clamp_min(1e-12)
        logits = dot / (norm_q[..., :, None] * norm_k[..., None, :]) * self.temperature
        attn = logits.softmax(dim=-1)  # (B, e, c, c)
        wo = self.out.weight.reshape(c, e)
        wv, bv = wqkv[:, 2], bqkv[:, 2]  # (c, e)
        mix = torch.einsum("cj,bjcd,dj->bcd", wo, attn, wv)
        bias = torch.einsum("cj,bjcd,dj->bc", wo, attn, bv) + self.out.bias
        return torch.baddbmm(bias[:, :, None], mix, flat).reshape(b, c, h, w)


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
