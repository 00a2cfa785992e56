"""Eval-time rewrites of a trained network for fast inference with the same outputs.

:func:`prepare_for_inference` returns a copy (the training modules are left untouched) in which

- each :class:`~ivifmodels.blocks.DenseLayer`'s second BatchNorm, which directly follows its
  bias-free 1x1 convolution, is folded into that convolution (in eval mode
  ``BN(W x) = (s W) x + t`` with ``s = gamma / sqrt(var + eps)``, ``t = beta - mean * s``: exact
  up to float32 rounding);
- the parameters are stored channels-last, the layout in which the CPU convolutions (oneDNN)
  and the per-pixel fusion blocks need no layout conversions; inputs should then be given
  channels-last too; GroupNorms still run on contiguous (NCHW) tensors
  (:class:`ContiguousGroupNorm`), because PyTorch's channels-last GroupNorm kernel is less
  accurate (3.4e-5 against 1.8e-7 max abs error vs float64 on the released CNN's stem, a real
  MSRS tile).

The first BatchNorm of a DenseLayer is followed by a ReLU before its convolution, so it cannot
be folded and stays as it is.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .blocks import DenseLayer


class ContiguousGroupNorm(nn.Module):
    """Runs ``norm`` on a contiguous (NCHW) copy of the input, returns channels-last."""

    def __init__(self, norm: nn.GroupNorm):
        super().__init__()
        self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.contiguous()).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def fold_batch_norm_into_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Make ``conv`` compute ``bn(conv(x))`` (eval-mode statistics); ``bn`` is then redundant."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * scale
    if conv.bias is not None:
        shift = shift + conv.bias * scale
    conv.weight.mul_(scale[:, None, None, None])
    conv.bias = nn.Parameter(shift)


def prepare_for_inference(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """An eval-mode copy of ``model`` with the rewrites of the module docstring."""
    fast = copy.deepcopy(model).eval()
    for layer in fast.modules():
        if isinstance(layer, DenseLayer):
            conv, bn = layer.body[2], layer.body[3]
            fold_batch_norm_into_conv(conv, bn)
            layer.body[3] = nn.Identity()
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
        for parent in list(fast.modules()):
            for name, child in parent.named_children():
                if isinstance(child, nn.GroupNorm):
                    setattr(parent, name, ContiguousGroupNorm(child))
    return fast
