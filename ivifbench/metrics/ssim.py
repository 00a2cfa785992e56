"""SSIM variants, each summed over the two sources: CDDFuse (scikit-image defaults) and VIFB."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ivifbench.metrics.filtering import (
    box_mean_valid,
    filter2_valid,
    gaussian_window_1d,
    valid_bands,
)

#: scikit-image ``structural_similarity`` defaults for float input without ``data_range``.
SKIMAGE_WINDOW = 7
SKIMAGE_DATA_RANGE = 2.0
#: VIFB ``metricsSsim``: fspecial('gaussian', 11, 1.5), L = 255.
VIFB_WINDOW, VIFB_SIGMA, VIFB_L = 11, 1.5, 255.0
K1, K2 = 0.01, 0.03


def _ssim_map_sum(
    mu_x: np.ndarray,
    mu_y: np.ndarray,
    e_xx: np.ndarray,
    e_yy: np.ndarray,
    e_xy: np.ndarray,
    cov_norm: float,
    c1: float,
    c2: float,
) -> float:
    """Sum of the SSIM map ((2 mx my + C1)(2 sxy + C2)) / ((mx^2 + my^2 + C1)(sx^2 + sy^2 + C2)).

    (Co)variances are ``cov_norm`` x (E[xy] - mx my); ``cov_norm`` is divided out of the second
    factors, i.e. C2 / cov_norm is used against the unscaled moments.
    """
    c2 = c2 / cov_norm
    product = mu_x * mu_y
    squares = mu_x * mu_x
    squares += mu_y * mu_y
    structure = e_xy - product
    structure *= 2.0
    structure += c2
    product *= 2.0
    product += c1
    product *= structure
    spread = e_xx + e_yy
    spread -= squares
    spread += c2
    squares += c1
    squares *= spread
    return float(np.sum(np.divide(product, squares, out=product)))


def _ssim_mean(
    mean: Callable[[np.ndarray], np.ndarray],
    window: int,
    x: np.ndarray,
    y: np.ndarray,
    cov_norm: float,
    c1: float,
    c2: float,
) -> float:
    """Mean SSIM map of x and y; ``mean`` gives local means at the 'valid' positions of a
    ``window``-row window. Runs band by band."""
    total = 0.0
    for rows, _ in valid_bands(x.shape[0], window):
        xb, yb = x[rows], y[rows]
        total += _ssim_map_sum(
            mean(xb), mean(yb), mean(xb * xb), mean(yb * yb), mean(xb * yb), cov_norm, c1, c2
        )
    return total / ((x.shape[0] - window + 1) * (x.shape[1] - window + 1))


def ssim_skimage(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """SSIM as CDDFuse ``Evaluator.SSIM``: ssim(F, A) + ssim(F, B), unitless (up to 2).

    Each term is scikit-image ``structural_similarity`` with its defaults on float data:
    7 x 7 uniform window, sample covariance (x 49/48), data_range 2 (so C1 = 4e-4,
    C2 = 3.6e-3 on 0-255 data), mean over the map without its 3-pixel border, i.e. over the
    windows that lie inside the image. Needs at least 7 x 7 pixels.
    """
    n = SKIMAGE_WINDOW
    count = float(n * n)
    c1 = (K1 * SKIMAGE_DATA_RANGE) ** 2
    c2 = (K2 * SKIMAGE_DATA_RANGE) ** 2

    def mean(x: np.ndarray) -> np.ndarray:
        return box_mean_valid(x, n)

    cov_norm = count / (count - 1.0)
    return sum(_ssim_mean(mean, n, fused, source, cov_norm, c1, c2) for source in (a, b))


def ssim_vifb(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """SSIM as VIFB ``metricsSsim``: ssim(VIS, F) + ssim(IR, F), unitless (up to 2).

    11 x 11 Gaussian window (sigma 1.5), ``filter2 'valid'``, L = 255, K = (0.01, 0.03),
    population moments, mean of the map. Needs at least 11 x 11 pixels.
    """
    taps = gaussian_window_1d(VIFB_WINDOW, VIFB_SIGMA)
    c1 = (K1 * VIFB_L) ** 2
    c2 = (K2 * VIFB_L) ** 2

    def mean(x: np.ndarray) -> np.ndarray:
        return filter2_valid(x, taps)

    return sum(_ssim_mean(mean, VIFB_WINDOW, source, fused, 1.0, c1, c2) for source in (b, a))
