"""MATLAB helpers of Z. Liu's fusion-metric code (``imageFusionMetrics``) that VIFB's Qcb and
Qcv share: ``normalize1`` and the ``freqspace`` frequency grid of their CSF filters."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics.filtering import matlab_round, row_blocks


def minmax_stretch_255(image: np.ndarray) -> np.ndarray:
    """Z. Liu's ``normalize1``: ``round((x - min) / (max - min) * 255)``, 0-255 grey levels.

    An all-zero image is returned unchanged; any other constant image becomes all NaN (0/0), as
    in the MATLAB code.
    """
    hi = image.max()
    lo = image.min()
    if hi == 0 and lo == 0:
        return image
    stretched = np.empty_like(image)
    with np.errstate(invalid="ignore", divide="ignore"):
        for rows in row_blocks(image.shape[0]):  # cache-sized blocks
            block = np.subtract(image[rows], lo, out=stretched[rows])
            block /= hi - lo
            block *= 255
            stretched[rows] = matlab_round(block)
    return stretched


def centred_frequencies(size: int) -> np.ndarray:
    """One axis of MATLAB ``freqspace``: ``((0:n-1) - floor(n/2)) * (2/n)``, fftshift order."""
    return (np.arange(size) - size // 2) * (2.0 / size)


def half_spectrum_radius(rows: int, cols: int, rows_scale: float, cols_scale: float) -> np.ndarray:
    """Radial frequency sqrt(u^2 + v^2) on the ``rfft2`` half plane, unshifted order.

    u = ``cols_scale`` * freqspace along columns, v = ``rows_scale`` * freqspace along rows; the
    values equal ``ifftshift`` of the MATLAB ``freqspace(..., 'meshgrid')`` grid, columns
    ``0 .. cols // 2``.
    """
    u = np.fft.ifftshift(cols_scale * centred_frequencies(cols))[: cols // 2 + 1]
    v = np.fft.ifftshift(rows_scale * centred_frequencies(rows))
    return np.sqrt(u[np.newaxis, :] ** 2 + v[:, np.newaxis] ** 2)
