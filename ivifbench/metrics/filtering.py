"""Fast float64 building blocks shared by the metrics: MATLAB-style windows, 'valid' filtering,
Sobel responses, box sums and integer grey-level codes.

Every function takes and returns float64 arrays in the caller's units; nothing here rescales.
"""

from __future__ import annotations

import cv2
import numpy as np


def gaussian_window_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB ``fspecial('gaussian', size, sigma)``, normalised to sum 1.

    ``fspecial`` zeroes taps below ``eps * max``; that never happens for the windows used here
    (checked), so the 2-D window is exactly the outer product of this factor with itself.
    """
    radius = (size - 1) / 2.0
    x = np.arange(-radius, radius + 1.0)
    taps = np.exp(-(x * x) / (2.0 * sigma * sigma))
    if taps[0] * taps[0] < np.finfo(np.float64).eps:
        raise ValueError(f"gaussian window {size}/{sigma}: fspecial would truncate it")
    return taps / taps.sum()


def filter2_valid(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(w, image, 'valid')`` for the separable window ``w = taps' * taps``.

    Output shape is (H - n + 1, W - n + 1) for ``n = len(taps)``; the taps are symmetric, so
    correlation and convolution agree.
    """
    n = taps.size
    radius = n // 2
    height, width = image.shape
    kernel = taps.reshape(-1, 1)
    out = cv2.sepFilter2D(image, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_CONSTANT)
    return out[radius : height - radius, radius : width - radius]


def box_sum_valid(image: np.ndarray, size: int) -> np.ndarray:
    """Sum over every ``size x size`` window that lies inside ``image`` ('valid' positions).

    On integer-valued data the sums are exact integers.
    """
    radius = size // 2
    height, width = image.shape
    out = cv2.boxFilter(
        image, cv2.CV_64F, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT
    )
    return out[radius : height - radius, radius : width - radius]


def sobel_conv2_same(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(sx, sy)`` = MATLAB ``conv2(image, h3, 'same')``, ``conv2(image, h1, 'same')``.

    ``h3 = [-1 0 1; -2 0 2; -1 0 1]`` and ``h1 = [1 2 1; 0 0 0; -1 -2 -1]``, zero padding: ``sx`` is
    left column minus right column, ``sy`` bottom row minus top row (OpenCV's Sobel computes the
    opposite sign for x). Exact on integer-valued data.
    """
    sx = cv2.Sobel(image, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_CONSTANT)
    np.negative(sx, out=sx)
    sy = cv2.Sobel(image, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_CONSTANT)
    return sx, sy


def grey_codes(image: np.ndarray, name: str) -> np.ndarray:
    """Integer grey levels 0..255 of an integer-valued image, as ``intp`` (for ``bincount``).

    Raises ``ValueError`` naming ``name`` when values are not integers in 0..255: the histogram
    metrics are defined on 8-bit data only.
    """
    codes = image.astype(np.intp)
    if not np.array_equal(codes, image) or codes.min() < 0 or codes.max() > 255:
        raise ValueError(f"{name}: expected integer grey levels 0-255 (8-bit data)")
    return codes


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round`` (halves away from zero) for non-negative ``x``, exact at halves."""
    whole = np.floor(x)
    return whole + (x - whole >= 0.5)
