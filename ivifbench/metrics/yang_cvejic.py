"""Yang's Qy (Yang et al., Information Fusion 9 (2008) 156-160) and Cvejic's Qc (Cvejic et
al., 2005), as in Z. Liu's ``metricYang.m`` and ``metricCvejic.m`` (``sw = 2``).

Both use Liu's ``ssim_yang``: a 7 x 7 Gaussian window (sigma 1.5), ``filter2 'valid'`` and
C1 = C2 = 2e-16, on float64 images in 0-255 grey levels.
"""

from __future__ import annotations

import numpy as np

from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.local_ssim import FRAGILE, WindowStats, ssim_map

WINDOW, SIGMA = 7, 1.5
C1 = C2 = 2e-16
#: ``ssim_yang`` refuses images under 11 x 11 (and the metric then fails).
MIN_SIDE = 11
#: Yang's threshold on SSIM(A, B) between the "redundant" and "complementary" rules.
REDUNDANT = 0.75


def _stats(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> WindowStats:
    """7 x 7 window statistics of A, B, F and their products."""
    pairs = [("a", "a"), ("b", "b"), ("f", "f"), ("a", "b"), ("a", "f"), ("b", "f")]
    return WindowStats({"a": a, "b": b, "f": fused}, pairs, WINDOW, SIGMA)


def _flat_pair(stats: WindowStats, *pairs: tuple[str, str]) -> np.ndarray:
    """Windows where the variances of some pair of images sum to almost nothing."""
    variance = {name: stats.covariance(name, name) for name in "abf"}
    return np.logical_or.reduce([variance[x] + variance[y] < FRAGILE for x, y in pairs])


def yang_qy(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Yang's Qy, unitless, higher is better (<= 1): mean over 7 x 7 windows of
    lambda SSIM(A, F) + (1 - lambda) SSIM(B, F) where SSIM(A, B) >= 0.75 (lambda =
    var A / (var A + var B)), else max(SSIM(A, F), SSIM(B, F)). NaN when both sources are flat
    in one window (0/0 in lambda), as in ``metricYang``."""
    f, a, b = gray_images("Qy", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    stats = _stats(f, a, b)
    stats.refine(_flat_pair(stats, ("a", "b"), ("a", "f"), ("b", "f")))
    ssim_ab = ssim_map(stats, "a", "b", C1, C2)
    ssim_af = ssim_map(stats, "a", "f", C1, C2)
    ssim_bf = ssim_map(stats, "b", "f", C1, C2)
    var_a, var_b = stats.covariance("a", "a"), stats.covariance("b", "b")
    redundant = ssim_ab >= REDUNDANT
    with np.errstate(invalid="ignore"):  # 0/0 where both sources are flat: NaN, as Liu's
        weight = var_a / (var_a + var_b)
    # Liu multiplies each rule by its mask, so a NaN weight spreads even where unused.
    quality = (weight * ssim_af + (1 - weight) * ssim_bf) * redundant
    quality += np.maximum(ssim_af, ssim_bf) * ~redundant
    return float(np.mean(quality))


def cvejic_qc(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Cvejic's Qc (``metricCvejic(IR, VIS, F, 2)``), unitless, higher is better (<= 1):
    mean over 7 x 7 windows of mu SSIM(A, F) + (1 - mu) SSIM(B, F) with
    mu = cov(A, F) / (cov(A, F) + cov(B, F)); where mu < 0 the window scores 0 and where
    mu > 1 it scores 1 (so the value depends on which source is A: A = IR here). NaN where
    both covariances are exactly 0 (0/0), as in ``metricCvejic``."""
    f, a, b = gray_images("Qc", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    stats = _stats(f, a, b)
    cov_af, cov_bf = stats.covariance("a", "f"), stats.covariance("b", "f")
    near_zero = np.minimum(np.abs(cov_af), np.abs(cov_bf)) < FRAGILE
    near_zero |= np.abs(cov_af + cov_bf) < FRAGILE
    stats.refine(near_zero | _flat_pair(stats, ("a", "f"), ("b", "f")))
    cov_af, cov_bf = stats.covariance("a", "f"), stats.covariance("b", "f")
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 and x/0 as in Liu's code
        share = cov_af / (cov_af + cov_bf)
    quality = share * ssim_map(stats, "a", "f", C1, C2)
    quality += (1 - share) * ssim_map(stats, "b", "f", C1, C2)
    quality[share < 0] = 0.0
    quality[share > 1] = 1.0
    return float(np.mean(quality))
