"""Piella and Heijmans' fusion quality indices Q0, Qw and Qe (ICIP 2003), as in Z. Liu's
``metricPeilla.m`` (``imageFusionMetrics``; Q0: ``sw = 1``, Qw: ``sw = 2``) and MEFB's
``metricsQw.m`` (Qe: Liu's ``sw = 3`` with its undefined factor removed, alpha = 1).

All three use Wang's ``ssim_index``: 11 x 11 Gaussian window (sigma 1.5), ``filter2 'valid'``,
K = (0.01, 0.03), L = 255, on float64 images in 0-255 grey levels.
"""

from __future__ import annotations

import cv2
import numpy as np

from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.local_ssim import FRAGILE, WindowStats, ssim_map

#: Wang's ``ssim_index`` defaults.
WINDOW, SIGMA, L = 11, 1.5, 255.0
C1, C2 = (0.01 * L) ** 2, (0.03 * L) ** 2
#: The 11 x 11 window must fit (``ssim_index`` returns -Inf below, and the metric fails).
MIN_SIDE = WINDOW
#: ``filter2(flt, x, 'same')`` edge filters of Liu's ``sw = 3`` (correlation, zero padding).
PREWITT_X = np.array([[1.0, 0.0, -1.0]] * 3)
PREWITT_Y = PREWITT_X.T.copy()


def _weighted_maps(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(local quality map lambda SSIM(F, A) + (1 - lambda) SSIM(F, B), var A, var B).

    lambda = var A / (var A + var B); where both variances are exactly 0, each gets 0.5
    (``metricPeilla``'s guard against 0/0). Windows where var A + var B is tiny are
    recomputed in Octave's order (:mod:`ivifbench.metrics.local_ssim`)."""
    pairs = [("a", "a"), ("b", "b"), ("f", "f"), ("f", "a"), ("f", "b")]
    stats = WindowStats({"a": a, "b": b, "f": fused}, pairs, WINDOW, SIGMA)
    stats.refine(stats.covariance("a", "a") + stats.covariance("b", "b") < FRAGILE)
    var_a, var_b = stats.covariance("a", "a"), stats.covariance("b", "b")
    both_flat = (var_a + var_b) == 0
    var_a[both_flat] += 0.5
    var_b[both_flat] += 0.5
    weight = var_a / (var_a + var_b)
    quality = weight * ssim_map(stats, "f", "a", C1, C2)
    quality += (1 - weight) * ssim_map(stats, "f", "b", C1, C2)
    return quality, var_a, var_b


def _weighted_quality(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Piella's Qw: the local qualities weighted by max(var A, var B), normalised to sum 1."""
    quality, var_a, var_b = _weighted_maps(fused, a, b)
    saliency = np.maximum(var_a, var_b)
    return float(np.sum((saliency / saliency.sum()) * quality))


def _prewitt_magnitude(image: np.ndarray) -> np.ndarray:
    """sqrt(gx^2 + gy^2) of ``filter2`` with [1 0 -1] x 3 rows and its transpose, 'same'."""
    gx, gy = (
        cv2.filter2D(image, cv2.CV_64F, k, borderType=cv2.BORDER_CONSTANT)
        for k in (PREWITT_X, PREWITT_Y)
    )
    return np.sqrt(gx * gx + gy * gy)


def piella_q0(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Piella's fusion quality index Q0 (``metricPeilla(IR, VIS, F, 1)``), unitless, higher
    is better (1 for F = A = B): the mean over 11 x 11 windows of
    lambda SSIM(F, A) + (1 - lambda) SSIM(F, B), lambda = var A / (var A + var B)."""
    fused, a, b = gray_images("Q0", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    return float(np.mean(_weighted_maps(fused, a, b)[0]))


def piella_qw(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Piella's weighted fusion quality index Qw (``metricPeilla(IR, VIS, F, 2)``), unitless,
    higher is better: Q0's local qualities weighted by max(var A, var B) / sum of it."""
    fused, a, b = gray_images("Qw", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    return _weighted_quality(fused, a, b)


def piella_qe(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Piella's edge-dependent fusion quality index Qe with alpha = 1 (MEFB ``metricsQw``),
    unitless, higher is better: Qw of the Prewitt gradient magnitudes of F, A and B."""
    fused, a, b = gray_images("Qe", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    return _weighted_quality(*(_prewitt_magnitude(x) for x in (fused, a, b)))
