"""SSIM variants, each summed over the two sources: CDDFuse (scikit-image defaults) and VIFB."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ivifbench.metrics import kernels
from ivifbench.metrics.matlab_compat import (
    box_mean_valid_rows,
    filter2_valid_rows,
    gaussian_window_1d,
)
from ivifbench.metrics.numerics import BAND_ROWS, valid_bands

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
    columns: slice,
) -> float:
    """Sum over ``columns`` of the SSIM map
    ((2 mx my + C1)(2 sxy + C2)) / ((mx^2 + my^2 + C1)(sx^2 + sy^2 + C2)).

    (Co)variances are ``cov_norm`` x (E[xy] - mx my); ``cov_norm`` is divided out of the second
    factors, i.e. C2 / cov_norm is used against the unscaled moments. Overwrites ``e_xy``.
    """
    c2 = c2 / cov_norm
    product = mu_x * mu_y
    squares = mu_x * mu_x
    squares += mu_y * mu_y
    structure = e_xy
    structure -= product
    structure *= 2.0
    structure += c2
    product *= 2.0
    product += c1
    product *= structure
    spread = np.add(e_xx, e_yy, out=structure)
    spread -= squares
    spread += c2
    squares += c1
    squares *= spread
    return float(np.sum(np.divide(product, squares, out=product)[:, columns]))


#: Local means of the 'valid' rows of a window (whole rows, see ``filter2_valid_rows``),
#: into an optional buffer.
RowMeans = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _ssim_means(
    mean: RowMeans,
    window: int,
    fused: np.ndarray,
    sources: tuple[np.ndarray, ...],
    cov_norm: float,
    c1: float,
    c2: float,
) -> list[float]:
    """Mean SSIM map of ``fused`` and each source. Runs band by band through buffers reused by
    every band; the fused image's moments are computed once for all sources."""
    height, width = fused.shape
    columns = slice(window // 2, width - window // 2)
    buffers = np.empty((6, min(BAND_ROWS + window - 1, height), width))
    totals = [0.0] * len(sources)
    for rows, _ in valid_bands(height, window):
        product, mu_f, e_ff, mu_s, e_ss, e_sf = buffers[:, : rows.stop - rows.start]
        f = fused[rows]
        mu_f = mean(f, mu_f)
        e_ff = mean(np.multiply(f, f, out=product), e_ff)
        for i, source in enumerate(sources):
            s = source[rows]
            totals[i] += _ssim_map_sum(
                mean(s, mu_s),
                mu_f,
                mean(np.multiply(s, s, out=product), e_ss),
                e_ff,
                mean(np.multiply(s, f, out=product), e_sf),
                cov_norm,
                c1,
                c2,
                columns,
            )
    windows = (height - window + 1) * (width - window + 1)
    return [total / windows for total in totals]


def _ssim_means_compiled(
    taps: np.ndarray,
    fused: np.ndarray,
    sources: tuple[np.ndarray, np.ndarray],
    cov_norm: float,
    c1: float,
    c2: float,
) -> list[float]:
    """:func:`_ssim_means` by the compiled kernel, local means by the separable ``taps`` (an
    array or a tuple, see ``kernels._horizontal_taps``)."""
    f, a, b = kernels.contiguous(fused, *sources)
    windows = (f.shape[0] - len(taps) + 1) * (f.shape[1] - len(taps) + 1)
    return [total / windows for total in kernels.ssim_sums(f, a, b, taps, c1, c2 / cov_norm)]


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

    def mean(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return box_mean_valid_rows(x, n, out)

    cov_norm = count / (count - 1.0)
    if kernels.active():
        f, a_, b_ = kernels.contiguous(fused, a, b)
        total_a, total_b, exact = kernels.ssim_box_sums(f, a_, b_, n, c1, c2 / cov_norm)
        if exact:
            windows = (f.shape[0] - n + 1) * (f.shape[1] - n + 1)
            return total_a / windows + total_b / windows
        return sum(_ssim_means_compiled(np.full(n, 1.0 / n), f, (a_, b_), cov_norm, c1, c2))
    return sum(_ssim_means(mean, n, fused, (a, b), cov_norm, c1, c2))


def ssim_vifb(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """SSIM as VIFB ``metricsSsim``: ssim(VIS, F) + ssim(IR, F), unitless (up to 2).

    11 x 11 Gaussian window (sigma 1.5), ``filter2 'valid'``, L = 255, K = (0.01, 0.03),
    population moments, mean of the map. Needs at least 11 x 11 pixels.
    """
    taps = gaussian_window_1d(VIFB_WINDOW, VIFB_SIGMA)
    c1 = (K1 * VIFB_L) ** 2
    c2 = (K2 * VIFB_L) ** 2

    def mean(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        return filter2_valid_rows(x, taps, out)

    if kernels.active():  # the taps as a tuple: a loop unrolled for 11 taps
        ssim_vis, ssim_ir = _ssim_means_compiled(tuple(taps), fused, (b, a), 1.0, c1, c2)
    else:
        ssim_vis, ssim_ir = _ssim_means(mean, VIFB_WINDOW, fused, (b, a), 1.0, c1, c2)
    return ssim_vis + ssim_ir
