"""VIFB ``Edge_intensity`` (EI): mean Sobel gradient magnitude of the fused image."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics._arrays import gray_images

#: The 3x3 Sobel neighbourhood must fit in the image.
MIN_SIZE = (3, 3)


def edge_intensity(fused: np.ndarray) -> float:
    """Edge intensity of ``fused`` (2-D, grey levels 0-255); unit: 0-255 grey levels per pixel.

    ``mean(sqrt(gx^2 + gy^2))`` where gx, gy are MATLAB ``imfilter`` correlations with
    ``fspecial('sobel') = [1 2 1; 0 0 0; -1 -2 -1]`` and its transpose, replicate padding (VIFB
    ``metricsEdge_intensity``). Higher is better. For colour, VIFB filters each channel and
    averages all of them, which equals the mean of this function over the channels.
    """
    (f,) = gray_images("EI", MIN_SIZE, fused=fused)
    padded = np.pad(f, 1, mode="edge")
    smooth_along_rows = padded[:, :-2] + 2.0 * padded[:, 1:-1] + padded[:, 2:]
    smooth_along_cols = padded[:-2] + 2.0 * padded[1:-1] + padded[2:]
    grad_vertical = smooth_along_rows[:-2] - smooth_along_rows[2:]
    grad_horizontal = smooth_along_cols[:, :-2] - smooth_along_cols[:, 2:]
    magnitude = np.sqrt(grad_vertical * grad_vertical + grad_horizontal * grad_horizontal)
    return float(magnitude.mean())
