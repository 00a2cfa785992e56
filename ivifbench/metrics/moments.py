"""Moment statistics: standard deviation (SD), correlation coefficient (CC) and the sum of the
correlations of differences (SCD). All on 0-255 float64 data."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics import kernels
from ivifbench.metrics.numerics import row_blocks, sum_of_products


def standard_deviation(fused: np.ndarray) -> float:
    """SD: population standard deviation of ``fused`` (divides by MN), 0-255 grey levels.

    VIFB ``metricsVariance`` (despite the name), Tang ``SD_evaluation``, CDDFuse ``np.std``.
    """
    mean = fused.mean()
    squares = 0.0
    for rows in row_blocks(fused.shape[0]):  # bands: no image-sized temporary
        deviation = fused[rows] - mean
        squares += float(np.sum(np.square(deviation, out=deviation)))  # pairwise, as np.std
    return float(np.sqrt(squares / fused.size))


def pearson(x: np.ndarray, y: np.ndarray, minus: np.ndarray | None = None) -> float:
    """MATLAB ``corr2``: sum(dx dy) / sqrt(sum(dx^2) sum(dy^2)); NaN (0/0) if either is constant.
    ``minus``: correlate ``x - minus`` (computed on the fly by the kernel). 2-D inputs run in
    bands of rows (no image-sized temporaries)."""
    if kernels.active():
        x, y = kernels.contiguous(x, y)
        z = x if minus is None else kernels.contiguous(minus)[0]
        products, squares_x, squares_y = kernels.pearson(x, z, y, minus is not None)
    else:
        products, squares_x, squares_y = _centred_sums(x if minus is None else x - minus, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(products) / np.sqrt(np.float64(squares_x * squares_y)))


def _centred_sums(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(sum dx dy, sum dx^2, sum dy^2) about the means: the numpy reference."""
    mean_x, mean_y = x.mean(), y.mean()
    products = squares_x = squares_y = 0.0
    for rows in row_blocks(x.shape[0]):
        dx = x[rows] - mean_x
        dy = y[rows] - mean_y
        products += sum_of_products(dx, dy)
        squares_x += sum_of_products(dx, dx)
        squares_y += sum_of_products(dy, dy)
    return products, squares_x, squares_y


def correlation_coefficient(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """CC: mean of corr(A, F) and corr(B, F), unitless in [-1, 1] (Tang ``CC_evaluation``,
    CDDFuse ``Evaluator.CC``). NaN for a constant image."""
    return (pearson(a, fused) + pearson(b, fused)) / 2.0


def sum_of_correlation_differences(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """SCD: corr(F - B, A) + corr(F - A, B), unitless in [-2, 2] (Aslantas and Bendes 2015;
    Tang ``analysis_SCD``, CDDFuse ``Evaluator.SCD``)."""
    return pearson(fused, a, minus=b) + pearson(fused, b, minus=a)
