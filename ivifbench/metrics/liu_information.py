"""Information metrics of Z. Liu's ``imageFusionMetrics``: NCIE (``metricWang.m``, Wang et
al.'s nonlinear correlation information entropy) and Tsallis entropy TE (``metricMI.m``
``sw = 2``, Cvejic's q = 1.85; MEFB's ``metricsTE.m`` is the same code).

Both first stretch each image with Liu's ``normalize1`` (rounded 0-255 levels) and build
256 x 256 joint histograms of those levels.
"""

from __future__ import annotations

import numpy as np

from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.matlab_compat import minmax_stretch_255

LEVELS = 256
#: Cvejic's constant in ``metricMI(.., 2)``.
TSALLIS_Q = 1.85
MIN_SIDE = 1


def _levels(metric: str, **images: np.ndarray) -> list[np.ndarray] | None:
    """Each image stretched by ``normalize1`` as integer codes 0..255; None when one is a
    nonzero constant (``normalize1`` gives NaN and Liu's histogram indexing fails)."""
    stretched = [minmax_stretch_255(x) for x in gray_images(metric, MIN_SIDE, **images)]
    if any(np.isnan(x).any() for x in stretched):
        return None
    return [x.astype(np.intp).ravel() for x in stretched]


def _joint(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Joint probabilities p(x = i, y = j), 256 x 256."""
    counts = np.bincount(x * LEVELS + y, minlength=LEVELS * LEVELS).reshape(LEVELS, LEVELS)
    return counts / counts.sum()


def _entropy_bits(p: np.ndarray) -> float:
    p = p[p != 0]
    return float(-np.sum(p * np.log2(p)))


def _nonlinear_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Liu's ``NCC``: (H(x) + H(y) - H(x, y)) / log2(256), i.e. MI in bits / 8."""
    joint = _joint(x, y)
    entropies = _entropy_bits(joint.sum(axis=0)) + _entropy_bits(joint.sum(axis=1))
    return (entropies - _entropy_bits(joint)) / np.log2(LEVELS)


def ncie(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """NCIE, unitless 0-1, higher is better: 1 + sum(r_i log2(r_i / 3) / 3) / log2(256) over
    the eigenvalues r_i of the 3 x 3 matrix of nonlinear correlation coefficients of A, B, F
    (1 on the diagonal). NaN for a nonzero constant image (Liu's code fails there)."""
    levels = _levels("NCIE", fused=fused, ir=ir, vis=vis)
    if levels is None:
        return float("nan")
    f, a, b = levels
    ab, af, bf = (_nonlinear_correlation(x, y) for x, y in ((a, b), (a, f), (b, f)))
    eigenvalues = np.linalg.eigvalsh(np.array([[1.0, ab, af], [ab, 1.0, bf], [af, bf, 1.0]]))
    k = 3
    return float(1 + np.sum(eigenvalues * np.log2(eigenvalues / k) / k) / np.log2(LEVELS))


def _tsallis_liu(source: np.ndarray, fused: np.ndarray, q: float) -> float:
    """Liu's ``tsallis(source, fused, q)``: (1 - S) / (1 - q) with
    S = sum over i, j of p(i, j)^q / (p_F(i) p_S(j))^(q - 1), p(i, j) = p(source = i,
    fused = j). The marginals are paired as the code pairs them (``sum(h)`` is the fused one,
    indexed by the source level i), terms with p_F(i) p_S(j) = 0 skipped."""
    joint = _joint(source, fused)
    p_fused = joint.sum(axis=0)
    p_source = joint.sum(axis=1)
    product = p_fused[:, np.newaxis] * p_source[np.newaxis, :]
    used = (product != 0) & (joint != 0)
    s = np.sum(joint[used] ** q / product[used] ** (q - 1))
    return float((1 - s) / (1 - q))


def tsallis_entropy(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """TE: Liu's Tsallis "mutual information" with q = 1.85, summed over both sources
    (``metricMI(IR, VIS, F, 2)``), unitless, higher is better. NaN for a nonzero constant
    image (Liu's code fails there)."""
    levels = _levels("TE", fused=fused, ir=ir, vis=vis)
    if levels is None:
        return float("nan")
    f, a, b = levels
    return _tsallis_liu(a, f, TSALLIS_Q) + _tsallis_liu(b, f, TSALLIS_Q)
