"""Pixel-error metrics between the fused image and each source: MSE, PSNR and VIFB's RMSE."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics import kernels
from ivifbench.metrics.moments import A, B, F, grey_level_sums
from ivifbench.metrics.numerics import row_blocks, sum_of_products


def _sse(x: np.ndarray, y: np.ndarray, divisor: float = 1.0) -> float:
    """Sum of squared differences of x / divisor and y / divisor, in bands of rows (no
    image-sized temporary)."""
    if kernels.active():
        return float(kernels.squared_error_sum(*kernels.contiguous(x, y), divisor))
    if divisor != 1.0:
        x, y = x / divisor, y / divisor
    total = 0.0
    for rows in row_blocks(x.shape[0]):
        d = x[rows] - y[rows]
        total += sum_of_products(d, d)
    return total


def _source_sses(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, divisor: float = 1.0
) -> tuple[float, float]:
    """(SSE(A, F), SSE(B, F)) of the images divided by ``divisor``: from the exact grey-level
    sums of the call where they apply, else by :func:`_sse`."""
    sums = grey_level_sums(fused, a, b)
    if sums is not None:
        scale = divisor * divisor
        return sums.squared_error(A, F) / scale, sums.squared_error(B, F) / scale
    return _sse(a, fused, divisor), _sse(b, fused, divisor)


def mean_squared_error(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, *, unit_divisor: float = 1.0
) -> float:
    """MSE: mean over the two sources of mean((S - F)^2).

    Values are first divided by ``unit_divisor``: 1 gives (0-255)^2 units (CDDFuse
    ``Evaluator.MSE``), 255 gives [0, 1]^2 units (Tang ``MSE_evaluation`` on ``im2double``).
    """
    sse_a, sse_b = _source_sses(fused, a, b, unit_divisor)
    return (sse_a / fused.size + sse_b / fused.size) / 2.0


def peak_signal_to_noise_ratio(
    fused: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    *,
    peak: float | None = None,
    unit_divisor: float = 1.0,
) -> float:
    """PSNR = 10 log10(peak^2 / MSE) in dB, MSE as :func:`mean_squared_error`.

    ``peak=None``: max of the fused image (CDDFuse ``Evaluator.PSNR``). Tang ``PSNR_evaluation``
    is ``peak=255`` with ``unit_divisor=255`` (the MSE on [0, 1] data against a 255 peak:
    standard 8-bit PSNR + 20 log10(255) = +48.13 dB). +inf when the MSE is 0.
    """
    mse = mean_squared_error(fused, a, b, unit_divisor=unit_divisor)
    if peak is None:
        peak = np.max(fused) / unit_divisor
    top = np.float64(peak)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(10.0 * np.log10(top * top / np.float64(mse)))


def root_mean_squared_error_vifb(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """RMSE as VIFB ``metricsRmse``: mean over the sources of sqrt(SSE) / (MN)
    (= RMSE / sqrt(MN); VIFB's helper ``mse`` is not a mean squared error), 0-255 grey
    levels."""
    sse_a, sse_b = _source_sses(fused, a, b)
    return float(np.sqrt(sse_b) / fused.size + np.sqrt(sse_a) / fused.size) / 2.0


def peak_signal_to_noise_ratio_vifb(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """PSNR as VIFB ``metricsPsnr``: 20 log10(255 / sqrt(m)) dB with m the VIFB RMSE above."""
    m = root_mean_squared_error_vifb(fused, a, b)
    with np.errstate(divide="ignore"):
        return float(20.0 * np.log10(255.0 / np.sqrt(np.float64(m))))
