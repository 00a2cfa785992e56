"""Moment statistics: standard deviation (SD), correlation coefficient (CC) and the sum of the
correlations of differences (SCD). All on 0-255 float64 data.

On the planes of a :func:`ivifbench.compute` call (integer grey levels), the compiled path
takes all of them, and MSE and PSNR (:mod:`ivifbench.metrics.squared_error`), from one pass of
exact integer sums (:class:`GreyLevelSums`) shared by the metrics of the call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ivifbench.metrics import kernels
from ivifbench.metrics.numerics import row_blocks, sum_of_products

#: A linear combination of (F, A, B): F = (1, 0, 0), F - B = (1, 0, -1), ...
Combination = tuple[int, int, int]
F, A, B = (1, 0, 0), (0, 1, 0), (0, 0, 1)


@dataclass(frozen=True)
class GreyLevelSums:
    """Exact sums over n pixels of three grey-level planes (F, A, B): ``first`` = sums of F,
    A, B; ``second`` = the 3 x 3 sums of their products. Statistics of linear combinations
    follow in exact integer arithmetic, rounded once at the end."""

    n: int
    first: tuple[int, int, int]
    second: tuple[tuple[int, int, int], ...]

    def total(self, c: Combination) -> int:
        return sum(ci * si for ci, si in zip(c, self.first, strict=True))

    def cross(self, c: Combination, d: Combination) -> int:
        """sum over pixels of (c . (F, A, B)) (d . (F, A, B))."""
        return sum(c[i] * d[j] * self.second[i][j] for i in range(3) for j in range(3))

    def correlation(self, c: Combination, d: Combination) -> float:
        """MATLAB ``corr2`` of the two combinations; NaN (0/0) if either is constant."""
        n, sc, sd = self.n, self.total(c), self.total(d)
        covariance = n * self.cross(c, d) - sc * sd
        variances = (n * self.cross(c, c) - sc * sc) * (n * self.cross(d, d) - sd * sd)
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.float64(covariance) / np.sqrt(np.float64(variances)))

    def squared_error(self, c: Combination, d: Combination) -> int:
        """sum over pixels of (c - d)^2."""
        e = tuple(ci - di for ci, di in zip(c, d, strict=True))
        return self.cross(e, e)

    def spread(self, c: Combination) -> float:
        """Population standard deviation of the combination."""
        sc = self.total(c)
        return math.sqrt((self.n * self.cross(c, c) - sc * sc) / (self.n * self.n))


def grey_level_sums(
    fused: np.ndarray, a: np.ndarray | None = None, b: np.ndarray | None = None
) -> GreyLevelSums | None:
    """:class:`GreyLevelSums` of (F, A, B) (``a``, ``b`` default to F) by the compiled kernel,
    made once per :func:`ivifbench.compute` call, for the planes ``compute`` made (integer
    grey levels by construction, :func:`kernels.mark_grey_levels`); ``None`` otherwise (other
    arrays, or the numpy path), and the caller computes in floating point."""
    images = [fused, fused if a is None else a, fused if b is None else b]
    if not (kernels.active() and kernels.grey_levels(*images)):
        return None

    def make() -> GreyLevelSums:
        s = [int(v) for v in kernels.grey_level_sums(*kernels.contiguous(*images))]
        second = ((s[3], s[6], s[7]), (s[6], s[4], s[8]), (s[7], s[8], s[5]))
        return GreyLevelSums(fused.size, (s[0], s[1], s[2]), second)

    return kernels.once_per_call(("grey level sums", *map(kernels.array_key, images)), make)


def standard_deviation(fused: np.ndarray) -> float:
    """SD: population standard deviation of ``fused`` (divides by MN), 0-255 grey levels.

    VIFB ``metricsVariance`` (despite the name), Tang ``SD_evaluation``, CDDFuse ``np.std``.
    """
    sums = grey_level_sums(fused)
    if sums is not None:
        return sums.spread(F)
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
    sums = grey_level_sums(fused, a, b)
    if sums is not None:
        return (sums.correlation(A, F) + sums.correlation(B, F)) / 2.0
    return (pearson(a, fused) + pearson(b, fused)) / 2.0


def sum_of_correlation_differences(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """SCD: corr(F - B, A) + corr(F - A, B), unitless in [-2, 2] (Aslantas and Bendes 2015;
    Tang ``analysis_SCD``, CDDFuse ``Evaluator.SCD``)."""
    sums = grey_level_sums(fused, a, b)
    if sums is not None:
        return sums.correlation((1, 0, -1), A) + sums.correlation((1, -1, 0), B)
    return pearson(fused, a, minus=b) + pearson(fused, b, minus=a)
