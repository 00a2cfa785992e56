"""Gradient activity of the fused image: spatial frequency (SF) and average gradient (AG)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ivifbench.metrics import kernels
from ivifbench.metrics.numerics import row_blocks, sum_of_products


def spatial_frequency(
    fused: np.ndarray, *, divisor: Literal["differences", "pixels"] = "differences"
) -> float:
    """SF = sqrt(RF^2 + CF^2) from squared horizontal and vertical neighbour differences,
    0-255 grey levels.

    ``divisor="differences"`` (Tang ``SF_evaluation``, CDDFuse): each sum is divided by its
    number of differences, M(N-1) and (M-1)N. ``"pixels"`` (VIFB ``metricsSpatial_frequency``):
    both sums are divided by MN.
    """
    rows, cols = fused.shape
    if kernels.active():
        h_sum, v_sum = kernels.difference_sums(*kernels.contiguous(fused))
    else:
        h_sum, v_sum = _difference_sums(fused)
    if divisor == "pixels":
        return float(np.sqrt((h_sum + v_sum) / fused.size))
    return float(np.sqrt(h_sum / (rows * (cols - 1)) + v_sum / ((rows - 1) * cols)))


def _difference_sums(fused: np.ndarray) -> tuple[float, float]:
    """(sum of squared horizontal, sum of squared vertical) neighbour differences."""
    h_sum = v_sum = 0.0
    for band in row_blocks(fused.shape[0]):  # bands of rows: no image-sized temporaries
        horizontal = np.diff(fused[band], axis=1)
        vertical = np.diff(fused[band.start : band.stop + 1], axis=0)  # one row below
        h_sum += sum_of_products(horizontal, horizontal)
        v_sum += sum_of_products(vertical, vertical)
    return h_sum, v_sum


def matlab_gradient(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB ``gradient(image)``: (d/dx along columns, d/dy along rows); central differences
    inside, one-sided differences on the borders. Needs at least 2 rows and 2 columns."""
    gx = np.empty_like(image)
    gx[:, 1:-1] = (image[:, 2:] - image[:, :-2]) / 2.0
    gx[:, 0] = image[:, 1] - image[:, 0]
    gx[:, -1] = image[:, -1] - image[:, -2]
    gy = np.empty_like(image)
    gy[1:-1] = (image[2:] - image[:-2]) / 2.0
    gy[0] = image[1] - image[0]
    gy[-1] = image[-1] - image[-2]
    return gx, gy


def average_gradient(
    fused: np.ndarray, *, divisor: Literal["(M-1)(N-1)", "MN"] = "(M-1)(N-1)"
) -> float:
    """AG: sum of sqrt((gx^2 + gy^2) / 2) over all MN pixels divided by ``divisor``,
    0-255 grey levels per pixel.

    ``"(M-1)(N-1)"``: VIFB ``metricsAvg_gradient`` and Tang ``AG_evaluation``;
    ``"MN"``: CDDFuse ``Evaluator.AG`` (a plain mean). Runs in bands of rows, each with one
    halo row on either side so that its central differences are those of the whole image.
    """
    rows, cols = fused.shape
    if kernels.active():
        total = kernels.gradient_magnitude_sum(*kernels.contiguous(fused))
    else:
        total = _gradient_magnitude_sum(fused)
    return total / ((rows - 1) * (cols - 1) if divisor == "(M-1)(N-1)" else rows * cols)


def _gradient_magnitude_sum(fused: np.ndarray) -> float:
    """sum of sqrt((gx^2 + gy^2) / 2) over all pixels, in bands of rows with one halo row on
    either side (so that the central differences are those of the whole image)."""
    rows = fused.shape[0]
    total = 0.0
    for band in row_blocks(rows):
        top = max(band.start - 1, 0)
        gx, gy = matlab_gradient(fused[top : min(band.stop + 1, rows)])
        keep = slice(band.start - top, band.stop - top)
        gx, gy = gx[keep], gy[keep]
        gx *= gx
        gy *= gy
        gx += gy
        gx /= 2.0
        total += float(np.sum(np.sqrt(gx, out=gx)))
    return total
