"""VIFB ``Edge_intensity`` (EI): mean Sobel gradient magnitude of the fused image."""

from __future__ import annotations

import cv2
import numpy as np

from ivifbench.metrics import kernels, vifb_kernels
from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.numerics import row_blocks, sobel_rows

#: The 3x3 Sobel neighbourhood must fit in the image.
MIN_SIDE = 3


def edge_intensity(fused: np.ndarray) -> float:
    """Edge intensity of ``fused`` (2-D, grey levels 0-255), in 0-255 grey levels.

    ``mean(sqrt(gx^2 + gy^2))`` where gx, gy are MATLAB ``imfilter`` correlations with
    ``fspecial('sobel') = [1 2 1; 0 0 0; -1 -2 -1]`` and its transpose, replicate padding (VIFB
    ``metricsEdge_intensity``). Higher is better. For colour, VIFB filters each channel and
    averages all of them, which equals the mean of this function over the channels.
    """
    (f,) = gray_images("EI", MIN_SIDE, fused=fused)
    if kernels.active():
        return vifb_kernels.sobel_magnitude_sum(f) / f.size
    # OpenCV's 3x3 Sobel kernels are fspecial('sobel') and its transpose up to sign; bands of
    # rows keep the intermediates in cache.
    total = 0.0
    for rows in row_blocks(f.shape[0]):
        total += float(cv2.magnitude(*sobel_rows(f, rows, cv2.BORDER_REPLICATE)).sum())
    return total / f.size
