"""Tang's ``MS_SSIM``: the multi-scale MEF-SSIM of Ma, Zeng and Wang (IEEE TIP 24 (2015)
3345-3356) as ``analysis_ms_ssim.m`` / ``mef_ssim.m`` of Tang's ``Evaluation-for-Image-Fusion``
compute it, with the source sequence (IR, VIS) and the fused image, float64 in 0-255.

At each of 3 scales, every 11 x 11 window of the sources is split into signal strength
(``ed``, the norm of the mean-removed patch, + 0.001) and structure; a reference patch is
built from the sources' structures (weights from strength and the patches' consistency R)
and rescaled to the largest strength, then compared with the fused patch by the SSIM
structure term (Gaussian 11 x 11 window, sigma 1.5, C = (0.03 x 255)^2). Tang's loops over
windows are evaluated here through box and Gaussian filters of the images and their products
(the same sums, expanded).
"""

from __future__ import annotations

import math

import numpy as np

from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.matlab_compat import box_mean_valid, filter2_valid, gaussian_window_1d

WINDOW, SIGMA = 11, 1.5
C = (0.03 * 255.0) ** 2
#: ``analysis_ms_ssim`` defaults: 3 scales weighted (0.0448, 0.2856, 0.3001) / their sum.
SCALE_WEIGHTS = np.array([0.0448, 0.2856, 0.3001]) / (0.0448 + 0.2856 + 0.3001)
#: ``mef_ssim`` constants: strength offset, largest exponent p, MATLAB ``eps``.
STRENGTH_OFFSET = 0.001
MAX_EXPONENT = 10.0
EPS = float(np.finfo(np.float64).eps)
#: The coarsest scale (a quarter of the smaller side) must hold one window.
MIN_SIDE = WINDOW * 4


def _scale_quality(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> float:
    """Mean MEF-SSIM map of one scale (``mef_ssim(cat(3, a, b), f)``)."""
    n2 = float(WINDOW * WINDOW)
    # Patch statistics over the 11 x 11 box: norms of mean-removed patches are sqrt(n2 var).
    mu_a, mu_b = box_mean_valid(a, WINDOW), box_mean_valid(b, WINDOW)
    var_a = box_mean_valid(a * a, WINDOW) - mu_a * mu_a
    var_b = box_mean_valid(b * b, WINDOW) - mu_b * mu_b
    cov_ab = box_mean_valid(a * b, WINDOW) - mu_a * mu_b
    norm_a = np.sqrt(np.maximum(n2 * var_a, 0))
    norm_b = np.sqrt(np.maximum(n2 * var_b, 0))
    strength_a, strength_b = norm_a + STRENGTH_OFFSET, norm_b + STRENGTH_OFFSET
    # Consistency R = |sum of the mean-removed patches| / sum of their norms.
    norm_sum = np.sqrt(np.maximum(n2 * (var_a + var_b + 2 * cov_ab), 0))
    consistency = (norm_sum + EPS) / (norm_a + norm_b + EPS)
    consistency[consistency > 1] = 1 - EPS
    consistency[consistency < 0] = EPS
    exponent = np.minimum(np.tan(math.pi / 2 * consistency), MAX_EXPONENT)
    weight_a = (strength_a / WINDOW) ** exponent + EPS
    weight_b = (strength_b / WINDOW) ** exponent + EPS
    total = weight_a + weight_b
    # Reference patch r = sum_k coef_k (X_k - mu_k), rescaled to norm max(strength).
    coef_a, coef_b = weight_a / total / strength_a, weight_b / total / strength_b
    r_norm = np.sqrt(
        np.maximum(n2 * (coef_a**2 * var_a + coef_b**2 * var_b + 2 * coef_a * coef_b * cov_ab), 0)
    )
    rescale = np.ones_like(r_norm)
    np.divide(np.maximum(strength_a, strength_b), r_norm, out=rescale, where=r_norm > 0)
    coef_a *= rescale
    coef_b *= rescale
    # Gaussian-weighted (co)variances of r and F: r is linear in the sources' patches.
    taps = gaussian_window_1d(WINDOW, SIGMA)
    g_a, g_b, g_f = (filter2_valid(x, taps) for x in (a, b, f))

    def g_cov(x: np.ndarray, y: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
        return filter2_valid(x * y, taps) - gx * gy

    var_r = (
        coef_a**2 * g_cov(a, a, g_a, g_a)
        + coef_b**2 * g_cov(b, b, g_b, g_b)
        + 2 * coef_a * coef_b * g_cov(a, b, g_a, g_b)
    )
    cov_rf = coef_a * g_cov(a, f, g_a, g_f) + coef_b * g_cov(b, f, g_b, g_f)
    quality = (2 * cov_rf + C) / (var_r + g_cov(f, f, g_f, g_f) + C)
    return float(np.mean(quality))


def _downsample(image: np.ndarray) -> np.ndarray:
    """``imfilter(x, ones(2) / 4, 'symmetric', 'same')(1:2:end, 1:2:end)``: means of 2 x 2
    blocks, the last row / column repeated when the size is odd."""
    rows, cols = image.shape
    padded = np.pad(image, ((0, rows % 2), (0, cols % 2)), mode="edge")
    return (padded[0::2, 0::2] + padded[1::2, 0::2] + padded[0::2, 1::2] + padded[1::2, 1::2]) / 4


def ms_ssim_tang(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Tang's MS_SSIM (multi-scale MEF-SSIM of (IR, VIS) and F), unitless, higher is better
    (1 for F = A = B): prod over 3 scales of Q_l ^ w_l, each scale a 2 x 2 mean downsampling
    of the previous (real part of the complex power where some Q_l < 0, as MATLAB). Needs at
    least 44 x 44 pixels (one 11 x 11 window at the coarsest scale).
    """
    f, a, b = gray_images("MS_SSIM", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    qualities = []
    for level in range(SCALE_WEIGHTS.size):
        if level:
            f, a, b = _downsample(f), _downsample(a), _downsample(b)
        qualities.append(_scale_quality(a, b, f))
    # A negative scale quality makes MATLAB's power complex; Tang's code keeps that number and
    # the real part is what it reports.
    return float(np.prod(np.array(qualities, dtype=complex) ** SCALE_WEIGHTS).real)
