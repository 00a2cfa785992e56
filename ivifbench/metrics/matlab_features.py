"""MATLAB feature transforms of Haghighat's FMI (``analysis_fmi.m``), reproduced exactly:
the default ``edge(I)`` (Sobel), ``dct2`` and ``dwt2(X, 'dmey')``.

All take and return float64 arrays; images in 0-255 grey levels (any real values work).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy import fft

#: MATLAB's discrete Meyer FIR approximation: the 102 values stored in the Wavelet Toolbox's
#: ``dmey.mat`` (variable ``dmey``; an FIR approximation of the Meyer scaling filter after
#: P. Abry, *Ondelettes et turbulence*, 1997, p. 268). PyWavelets' ``dmey`` is a different,
#: 62-tap approximation. ``tests/references`` pins these through MATLAB's own file.
# fmt: off
DMEY = np.array([
    -1.06754713e-06, 9.0422391e-07, 3.1790474e-07, -1.48249686e-06, 1.21850207e-06, 4.9361831e-07,
    -2.03604729e-06, 1.68513902e-06, 6.9474288e-07, -2.98242491e-06, 2.37128175e-06,
    1.18420622e-06, -4.26703335e-06, 3.42066573e-06, 1.69867277e-06, -6.757326e-06,
    5.10285152e-06, 3.42881336e-06, -1.004580737e-05, 7.42738297e-06, 4.37527643e-06,
    -1.72802656e-05, 1.421735152e-05, 1.060201359e-05, -3.283006737e-05, 2.286874237e-05,
    2.645260683e-05, -7.267567236e-05, 1.72972015e-05, 0.00010586335588, -5.34521877e-05,
    -9.893345543e-05, -6.612354762e-05, 0.0001139783219, 0.00060775793536, -0.00040883876416,
    -0.0019107202819, 0.00155193926157, 0.00427481806225, -0.00451609544333, -0.00780973483285,
    0.01078401534427, 0.01230639736499, -0.02269391137934, -0.01719808438302, 0.04501954358581,
    0.02165247163319, -0.09383060025865, -0.02478286152969, 0.31402235238643, 0.52591095141626,
    0.31402235238643, -0.02478286152969, -0.09383060025865, 0.02165247163319, 0.04501954358581,
    -0.01719808438302, -0.02269391137934, 0.01230639736499, 0.01078401534427, -0.00780973483285,
    -0.00451609544333, 0.00427481806225, 0.00155193926157, -0.0019107202819, -0.00040883876416,
    0.00060775793536, 0.0001139783219, -6.612354762e-05, -9.893345543e-05, -5.34521877e-05,
    0.00010586335588, 1.72972015e-05, -7.267567236e-05, 2.645260683e-05, 2.286874237e-05,
    -3.283006737e-05, 1.060201359e-05, 1.421735152e-05, -1.72802656e-05, 4.37527643e-06,
    7.42738297e-06, -1.004580737e-05, 3.42881336e-06, 5.10285152e-06, -6.757326e-06,
    1.69867277e-06, 3.42066573e-06, -4.26703335e-06, 1.18420622e-06, 2.37128175e-06,
    -2.98242491e-06, 6.9474288e-07, 1.68513902e-06, -2.03604729e-06, 4.9361831e-07,
    1.21850207e-06, -1.48249686e-06, 3.1790474e-07, 9.0422391e-07, -1.06754713e-06, 0.0,
])
# fmt: on


def edge_sobel(image: np.ndarray) -> np.ndarray:
    """MATLAB ``edge(I)`` with its defaults (Sobel, automatic threshold, thinning), as a
    float64 map of 0 and 1.

    bx, by = I correlated with ``fspecial('sobel')' / 8`` and ``fspecial('sobel') / 8``
    (replicate padding); b = bx^2 + by^2; cutoff = 4 mean(b). A pixel is an edge where
    b > cutoff and b is a maximum across the dominant gradient direction: along the row where
    |bx| >= |by| - 100 eps (left neighbour <= b, right neighbour < b), along the column where
    |by| >= |bx| - 100 eps (upper neighbour <= b, lower neighbour < b); neighbours outside the
    image pass. On integer images every step is exact (multiples of 1/64).
    """
    p = np.pad(np.asarray(image, dtype=np.float64), 1, mode="edge")
    left = p[:-2, :-2] + 2.0 * p[1:-1, :-2] + p[2:, :-2]
    right = p[:-2, 2:] + 2.0 * p[1:-1, 2:] + p[2:, 2:]
    top = p[:-2, :-2] + 2.0 * p[:-2, 1:-1] + p[:-2, 2:]
    bottom = p[2:, :-2] + 2.0 * p[2:, 1:-1] + p[2:, 2:]
    bx = (left - right) / 8.0
    by = (top - bottom) / 8.0
    b = bx * bx + by * by
    cutoff = 4.0 * math.fsum(b.ravel()) / b.size
    passes = np.ones((4, *b.shape), dtype=bool)
    passes[0, :, 1:] = b[:, :-1] <= b[:, 1:]  # left neighbour
    passes[1, :, :-1] = b[:, :-1] > b[:, 1:]  # right neighbour
    passes[2, 1:, :] = b[:-1, :] <= b[1:, :]  # upper neighbour
    passes[3, :-1, :] = b[:-1, :] > b[1:, :]  # lower neighbour
    tol = 100.0 * np.finfo(np.float64).eps
    bx, by = np.abs(bx), np.abs(by)
    along_rows = (bx >= by - tol) & passes[0] & passes[1]
    along_columns = (by >= bx - tol) & passes[2] & passes[3]
    return ((b > cutoff) & (along_rows | along_columns)).astype(np.float64)


def dct2(image: np.ndarray) -> np.ndarray:
    """MATLAB ``dct2``: the orthonormal 2-D DCT-II."""
    return fft.dctn(np.asarray(image, dtype=np.float64), type=2, norm="ortho")


def _dmey_filters() -> tuple[np.ndarray, np.ndarray]:
    """(Lo_D, Hi_D) of MATLAB ``wfilters('dmey', 'd')``: W = dmey / sum(dmey) (summed in
    order), Lo_R = sqrt(2) W, Hi_R = Lo_R reversed with every second tap negated (from the
    second), the decomposition filters are the reconstruction ones reversed."""
    total = 0.0
    for tap in DMEY:
        total += tap
    lo_r = math.sqrt(2.0) * (DMEY / total)
    hi_r = lo_r[::-1].copy()
    hi_r[1::2] = -hi_r[1::2]
    return lo_r[::-1].copy(), hi_r[::-1].copy()


LO_D, HI_D = _dmey_filters()


def _symmetric_indices(length: int, extension: int) -> np.ndarray:
    """Indices of MATLAB's half-point symmetric extension (``wextend`` 'sym') by ``extension``
    on both sides, reflected again where the extension is longer than the signal."""
    idx = np.arange(-extension, length + extension)
    period = 2 * length
    idx = np.mod(idx, period)
    return np.where(idx < length, idx, period - 1 - idx)


@njit(cache=True, nogil=True)
def _keep_even_rows(y, taps, count):  # pragma: no cover - compiled
    """Outputs 2, 4, ... (1-based; ``count`` of them) of ``conv2(y, taps(:), 'valid')`` down
    the columns of y: out[k] = sum_t taps[lf - 1 - t] y[1 + 2k + t], added tap by tap in this
    order (Octave's ``conv2`` order: on flat images the details are round-off, and FMI sees
    it)."""
    lf = taps.size
    out = np.zeros((count, y.shape[1]))
    for k in range(count):
        for t in range(lf):
            tap = taps[lf - 1 - t]
            row = y[1 + 2 * k + t]
            for c in range(y.shape[1]):
                out[k, c] += tap * row[c]
    return out


def _analysis(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) halves of one ``dwt2`` pass along ``axis``: the symmetric extension of
    ``x`` by lf - 1, filtered ('valid' ``conv2``) with Lo_D and Hi_D, even outputs kept."""
    n, lf = x.shape[axis], LO_D.size
    count = (n + lf - 1) // 2
    y = np.take(x, _symmetric_indices(n, lf - 1), axis=axis)
    if axis == 1:
        y = np.ascontiguousarray(y.T)
        return tuple(
            np.ascontiguousarray(_keep_even_rows(y, taps, count).T) for taps in (LO_D, HI_D)
        )
    y = np.ascontiguousarray(y)
    return tuple(_keep_even_rows(y, taps, count) for taps in (LO_D, HI_D))


def dwt2_dmey(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MATLAB ``[cA, cH, cV, cD] = dwt2(X, 'dmey')`` with the default extension mode 'sym'
    and no shift: rows filtered first, then columns, each output
    floor((m + 101) / 2) x floor((n + 101) / 2)."""
    lo, hi = _analysis(np.asarray(image, dtype=np.float64), axis=1)
    a, h = _analysis(lo, axis=0)
    v, d = _analysis(hi, axis=0)
    return a, h, v, d
