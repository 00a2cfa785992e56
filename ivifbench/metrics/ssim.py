"""SSIM variants, each summed over the two sources: CDDFuse (scikit-image defaults) and VIFB."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics.filtering import box_sum_valid, filter2_valid, gaussian_window_1d

#: scikit-image ``structural_similarity`` defaults for float input without ``data_range``.
SKIMAGE_WINDOW = 7
SKIMAGE_DATA_RANGE = 2.0
#: VIFB ``metricsSsim``: fspecial('gaussian', 11, 1.5), L = 255.
VIFB_WINDOW, VIFB_SIGMA, VIFB_L = 11, 1.5, 255.0
K1, K2 = 0.01, 0.03


def _ssim_map_mean(
    mu_x: np.ndarray,
    mu_y: np.ndarray,
    var_x: np.ndarray,
    var_y: np.ndarray,
    cov_xy: np.ndarray,
    c1: float,
    c2: float,
) -> float:
    """Mean of ((2 mx my + C1)(2 sxy + C2)) / ((mx^2 + my^2 + C1)(sx^2 + sy^2 + C2))."""
    numerator = (2.0 * mu_x * mu_y + c1) * (2.0 * cov_xy + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return float(np.mean(numerator / denominator))


def ssim_skimage(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """SSIM as CDDFuse ``Evaluator.SSIM``: ssim(F, A) + ssim(F, B), unitless (up to 2).

    Each term is scikit-image ``structural_similarity`` with its defaults on float data:
    7 x 7 uniform window, sample covariance (x 49/48), data_range 2 (so C1 = 4e-4,
    C2 = 3.6e-3 on 0-255 data), mean over the map without its 3-pixel border, i.e. over the
    windows that lie inside the image. Needs at least 7 x 7 pixels.
    """
    n = SKIMAGE_WINDOW
    count = float(n * n)
    cov_norm = count / (count - 1.0)
    c1 = (K1 * SKIMAGE_DATA_RANGE) ** 2
    c2 = (K2 * SKIMAGE_DATA_RANGE) ** 2
    mu_f = box_sum_valid(fused, n) / count
    var_f = cov_norm * (box_sum_valid(fused * fused, n) / count - mu_f * mu_f)
    total = 0.0
    for source in (a, b):
        mu_s = box_sum_valid(source, n) / count
        var_s = cov_norm * (box_sum_valid(source * source, n) / count - mu_s * mu_s)
        cov = cov_norm * (box_sum_valid(fused * source, n) / count - mu_f * mu_s)
        total += _ssim_map_mean(mu_f, mu_s, var_f, var_s, cov, c1, c2)
    return total


def ssim_vifb(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """SSIM as VIFB ``metricsSsim``: ssim(VIS, F) + ssim(IR, F), unitless (up to 2).

    11 x 11 Gaussian window (sigma 1.5), ``filter2 'valid'``, L = 255, K = (0.01, 0.03),
    population moments, mean of the map. Needs at least 11 x 11 pixels.
    """
    taps = gaussian_window_1d(VIFB_WINDOW, VIFB_SIGMA)
    c1 = (K1 * VIFB_L) ** 2
    c2 = (K2 * VIFB_L) ** 2
    mu_f = filter2_valid(fused, taps)
    var_f = filter2_valid(fused * fused, taps) - mu_f * mu_f
    total = 0.0
    for source in (b, a):
        mu_s = filter2_valid(source, taps)
        var_s = filter2_valid(source * source, taps) - mu_s * mu_s
        cov = filter2_valid(source * fused, taps) - mu_s * mu_f
        total += _ssim_map_mean(mu_s, mu_f, var_s, var_f, cov, c1, c2)
    return total
