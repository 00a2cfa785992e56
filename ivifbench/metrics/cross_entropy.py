"""VIFB ``Cross_entropy`` (CE): grey-level histogram divergence of each source from the fused
image, averaged over the two sources."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics import kernels
from ivifbench.metrics.checks import check_shapes
from ivifbench.metrics.numerics import grey_codes

#: A histogram needs one pixel; the metric has no spatial support.
MIN_SIDE = 1
LEVELS = 256


def _grey_level_probabilities(image: np.ndarray, name: str) -> np.ndarray:
    """Probability of each grey level 0..255 of an image of integer grey levels 0-255."""
    if kernels.active() and image.dtype == np.float64:
        counts = kernels.grey_counts(image)
        if counts is not None:
            return counts / image.size
    codes = image.ravel() if image.dtype == np.uint8 else grey_codes(image, name).ravel()
    return np.bincount(codes, minlength=LEVELS) / codes.size


def _divergence_bits(p_source: np.ndarray, p_fused: np.ndarray) -> float:
    """sum p_S log2(p_S / p_F) over the grey levels where both probabilities are nonzero."""
    common = (p_source != 0) & (p_fused != 0)
    ps = p_source[common]
    return float(np.sum(ps * np.log2(ps / p_fused[common])))


def cross_entropy(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """VIFB cross entropy in bits; lower is better.

    ``(D(VIS, F) + D(IR, F)) / 2`` with ``D(S, F) = sum p_S log2(p_S / p_F)`` over the grey
    levels present in both S and F (a Kullback-Leibler divergence restricted to common levels,
    so it can be negative). Inputs are 2-D arrays of integer grey levels 0-255; anything else
    raises ``ValueError`` (the MATLAB code indexes its histogram with the pixel values).
    """
    check_shapes("CE", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    p_fused = _grey_level_probabilities(np.asarray(fused), "CE: fused")
    divergences = []
    for name, source in (("vis", np.asarray(vis)), ("ir", np.asarray(ir))):

        def probabilities(source: np.ndarray = source, name: str = name) -> np.ndarray:
            return _grey_level_probabilities(source, f"CE: {name}")

        if kernels.active():  # once per source image inside kernels.shared_sources()
            key = ("grey probabilities", kernels.array_key(source))
            p_source = kernels.shared(key, (source,), probabilities)
        else:
            p_source = probabilities()
        divergences.append(_divergence_bits(p_source, p_fused))
    return (divergences[0] + divergences[1]) / 2.0
