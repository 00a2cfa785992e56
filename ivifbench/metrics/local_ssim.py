"""Local window statistics and SSIM maps of Z. Liu's fusion metrics (Piella's Q0/Qw/Qe, Yang's
Qy, Cvejic's Qc), with Octave's operation order where round-off decides the result.

Liu's code takes ratios of local variances and covariances (``var A / (var A + var B)``,
``cov(A, F) / (cov(A, F) + cov(B, F))``, SSIM with C1 = C2 = 2e-16). In windows where an image
is flat these are ratios of round-off (or exactly 0/0), so the value depends on how
``filter2`` summed. Everything is first computed fast (separable OpenCV filters); then the
windows a metric marks as *fragile* (tiny variances or covariances, see each metric) are
recomputed exactly as Octave's ``filter2`` does: ``conv2`` with the rotated window, one BLAS
``daxpy`` per window tap, taps in column-major order (``dconv2i``), which OpenBLAS runs with
fused multiply-adds. ``scipy.linalg.blas.daxpy`` is the same operation, so those windows are
bit-identical to the reference run (on a CPU where OpenBLAS uses FMA, as the reference machine).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.linalg import blas

from ivifbench.metrics.matlab_compat import filter2_valid, gaussian_window_1d

#: A variance, covariance or variance sum below this (in squared input units) marks a window
#: as fragile: round-off in the fast filters is about 1e-9 there.
FRAGILE = 1e-2
#: Windows recomputed per BLAS call (OpenBLAS stays on one thread below 10000 elements).
CHUNK = 8192


def fspecial_gaussian(size: int, sigma: float) -> np.ndarray:
    """Octave ``w = fspecial('gaussian', size, sigma); w = w / sum(sum(w))``, value for value
    (C-library ``exp``, sequential sums in Octave's order)."""
    radius = (size - 1) / 2
    axis = np.arange(-radius, radius + 1)
    window = np.array(
        [[math.exp(-(x * x + y * y) / (2 * sigma * sigma)) for x in axis] for y in axis]
    )
    total = 0.0
    for value in window.ravel(order="F"):
        total += value
    window = window / total
    total = 0.0
    for column in window.T:
        column_sum = 0.0
        for value in column:
            column_sum += value
        total += column_sum
    return window / total


class WindowStats:
    """Means E[x] and second moments E[x y] of named images over the 'valid' windows of
    ``fspecial('gaussian', size, sigma)`` (float64 maps of shape (H - size + 1, W - size + 1)).
    ``pairs``: the (x, y) second moments to keep, squares included as (x, x)."""

    def __init__(
        self,
        images: dict[str, np.ndarray],
        pairs: Sequence[tuple[str, str]],
        size: int,
        sigma: float,
    ) -> None:
        self.images = images
        self.pairs = list(pairs)
        self.window = fspecial_gaussian(size, sigma)
        taps = gaussian_window_1d(size, sigma)
        self.mean = {name: filter2_valid(image, taps) for name, image in images.items()}
        self.second = {(x, y): filter2_valid(images[x] * images[y], taps) for x, y in self.pairs}

    def covariance(self, x: str, y: str) -> np.ndarray:
        """E[x y] - E[x] E[y] (``filter2(w, x .* y) - mu_x .* mu_y``)."""
        return self.second[x, y] - self.mean[x] * self.mean[y]

    def refine(self, fragile: np.ndarray) -> None:
        """Recompute every map at the ``fragile`` windows in Octave's ``filter2`` order."""
        rows, cols = np.nonzero(fragile)
        means, seconds = octave_window_moments(self.images, self.pairs, self.window, rows, cols)
        for name, values in means.items():
            self.mean[name][rows, cols] = values
        for pair, values in seconds.items():
            self.second[pair][rows, cols] = values


def octave_window_moments(
    images: dict[str, np.ndarray],
    pairs: Sequence[tuple[str, str]],
    window: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[tuple[str, str], np.ndarray]]:
    """E[x] of each image and E[x y] of each pair at the 'valid' windows whose top-left pixel
    is (rows, cols), summed as Octave's ``filter2`` sums them (``conv2`` with the rotated
    ``window``, one BLAS daxpy per tap in column-major order); float64, one value per window.
    Shared with the torch backend, which recomputes its fragile windows here on the host."""
    kernel = window[::-1, ::-1]  # filter2 = conv2 with rot90(w, 2)
    m, n = kernel.shape
    means = {name: np.empty(rows.size) for name in images}
    seconds = {pair: np.empty(rows.size) for pair in pairs}
    for start in range(0, rows.size, CHUNK):
        r, c = rows[start : start + CHUNK], cols[start : start + CHUNK]
        mean_acc = {name: np.zeros(r.size) for name in images}
        second_acc = {pair: np.zeros(r.size) for pair in pairs}
        for j in range(n):
            for i in range(m):
                tap = kernel[i, j]
                at = (r + (m - 1 - i), c + (n - 1 - j))
                values = {name: image[at] for name, image in images.items()}
                for name in mean_acc:
                    mean_acc[name] = blas.daxpy(values[name], mean_acc[name], a=tap)
                for x, y in second_acc:
                    second_acc[x, y] = blas.daxpy(values[x] * values[y], second_acc[x, y], a=tap)
        for name, acc in mean_acc.items():
            means[name][start : start + CHUNK] = acc
        for pair, acc in second_acc.items():
            seconds[pair][start : start + CHUNK] = acc
    return means, seconds


def ssim_map(stats: WindowStats, x: str, y: str, c1: float, c2: float) -> np.ndarray:
    """Wang's SSIM map, in ``ssim_index``'s order of operations:
    ((2 mx my + C1)(2 sxy + C2)) / ((mx^2 + my^2 + C1)(sx^2 + sy^2 + C2))."""
    mu_x, mu_y = stats.mean[x], stats.mean[y]
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = stats.second[x, x] - mu_xx
    var_y = stats.second[y, y] - mu_yy
    cov = stats.second[x, y] - mu_xy
    return ((2 * mu_xy + c1) * (2 * cov + c2)) / ((mu_xx + mu_yy + c1) * (var_x + var_y + c2))
