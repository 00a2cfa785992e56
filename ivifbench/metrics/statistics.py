"""Moment statistics: standard deviation (SD), correlation coefficient (CC) and the sum of the
correlations of differences (SCD). All on 0-255 float64 data."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics.filtering import sum_of_products


def standard_deviation(fused: np.ndarray) -> float:
    """SD: population standard deviation of ``fused`` (divides by MN), 0-255 grey levels.

    VIFB ``metricsVariance`` (despite the name), Tang ``SD_evaluation``, CDDFuse ``np.std``.
    """
    return float(np.std(fused))


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """MATLAB ``corr2``: sum(dx dy) / sqrt(sum(dx^2) sum(dy^2)); NaN (0/0) if either is constant."""
    dx = x - x.mean()
    dy = y - y.mean()
    products = sum_of_products(dx, dy)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(
            np.float64(products) / np.sqrt(sum_of_products(dx, dx) * sum_of_products(dy, dy))
        )


def correlation_coefficient(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """CC: mean of corr(A, F) and corr(B, F), unitless in [-1, 1] (Tang ``CC_evaluation``,
    CDDFuse ``Evaluator.CC``). NaN for a constant image."""
    return (pearson(a, fused) + pearson(b, fused)) / 2.0


def sum_of_correlation_differences(fused: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """SCD: corr(F - B, A) + corr(F - A, B), unitless in [-2, 2] (Aslantas and Bendes 2015;
    Tang ``analysis_SCD``, CDDFuse ``Evaluator.SCD``)."""
    return pearson(fused - b, a) + pearson(fused - a, b)
