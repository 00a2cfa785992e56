"""Compiled (numba) kernels of the VIFB-only metrics: Qcb, Qcv, EI and VIFB's min-max
stretches (MI, Qcb, Qcv), and the frequency-domain CSF filter they share.

The numpy implementations in ``qcb.py``, ``qcv.py``, ``edge_intensity.py`` and
``information.py`` stay the reference (``kernels.reference_path()`` runs them;
``tests/test_metrics_kernels.py`` pins both paths to 1e-8). House style as
:mod:`ivifbench.metrics.kernels`: C-contiguous float64 in 0-255 grey levels, one thread,
compiled code cached on disk.
"""

from __future__ import annotations

import math

import ducc0
import numpy as np
from numba import njit

from ivifbench.metrics.kernels import (
    _JIT,
    REPLICATE_BORDER,
    ZERO_BORDER,
    _advance_ring,
    _horizontal,
    _sobel8_row,
    workspace,
)

#: The stretches round exactly as numpy does: no reassociation or FMA contraction there.
_EXACT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_EXACT)
def stretch_255(x, out, nan_if_constant):  # pragma: no cover - compiled
    """out = round((x - min) / (max - min) * 255) with MATLAB rounding (halves away from
    zero), 0-255 grey levels. A constant image gives zeros if it is all zero or if not
    ``nan_if_constant`` (VIFB ``mutinf``), else NaN (Z. Liu's ``normalize1``: 0/0).
    Returns whether every input value is an integer grey level 0-255."""
    flat, dest = x.ravel(), out.ravel()
    lo = hi = flat[0]
    levels = 0
    for i in range(flat.size):
        v = flat[i]
        lo = min(lo, v)
        hi = max(hi, v)
        levels += (0.0 <= v <= 255.0) and v == math.floor(v)
    if hi == lo:
        dest[:] = np.nan if (nan_if_constant and hi != 0.0) else 0.0
    else:
        span = hi - lo
        for i in range(flat.size):
            v = (flat[i] - lo) / span * 255.0
            whole = math.floor(v)
            dest[i] = whole + (1.0 if v - whole >= 0.5 else 0.0)
    return levels == flat.size


def stretched(
    image: np.ndarray, out: np.ndarray | None = None, nan_if_constant: bool = True
) -> tuple[np.ndarray, bool]:
    """(:func:`stretch_255` of ``image`` into ``out`` or a new array, whether ``image`` held
    8-bit grey levels only)."""
    out = np.empty(image.shape) if out is None else out
    ok = stretch_255(np.ascontiguousarray(image, dtype=np.float64), out, nan_if_constant)
    return out, ok


def csf_filtered(image: np.ndarray, csf: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``irfft2(rfft2(image) * csf)`` into ``out`` for a real CSF on the ``rfft2`` half plane
    (ducc0's transforms: about 3x faster than scipy's ``rfft2``/``irfft2`` pair here, and
    they write into reused buffers)."""
    spectrum = workspace("csf spectrum", csf.shape, np.complex128)
    ducc0.fft.r2c(image, axes=(0, 1), out=spectrum)
    spectrum *= csf
    return ducc0.fft.c2r(
        spectrum,
        axes=(0, 1),
        lastsize=image.shape[1],
        forward=False,
        inorm=2,
        out=out,
        allow_overwriting_input=True,
    )


@njit(inline="always", fastmath={"contract", "reassoc"})
def _vertical_pair(out_c, out_s, taps_c, taps_s, image, i):  # pragma: no cover - compiled
    """Row ``i`` of the column filters ``taps_c`` and ``taps_s`` (centred, zero padding
    above and below the image) into ``out_c`` and ``out_s``; each image row is loaded once
    for both filters, two taps per sweep."""
    height = image.shape[0]
    radius = taps_c.size // 2
    out_c[:] = 0.0
    out_s[:] = 0.0
    k, last = max(i - radius, 0), min(i + radius, height - 1)
    while k <= last:
        pair = k + 1 <= last
        r0, r1 = image[k], image[k + 1 if pair else k]
        c0, s0 = taps_c[k - i + radius], taps_s[k - i + radius]
        c1 = taps_c[k + 1 - i + radius] if pair else 0.0
        s1 = taps_s[k + 1 - i + radius] if pair else 0.0
        for j in range(out_c.size):
            x0, x1 = r0[j], r1[j]
            out_c[j] += c0 * x0 + c1 * x1
            out_s[j] += s0 * x0 + s1 * x1
        k += 2


@njit(**_JIT)
def qcb_contrast(image, taps_c, norm_c, taps_s, norm_s, z, out):  # pragma: no cover
    """out = Chen-Blum masked contrast C^3 / (C^2 + z) with C = |centre / surround - 1|,
    where centre and surround are MATLAB ``filter2(G, image, 'same')`` (zero padding) with
    the separable G = taps' * norm (column taps ``taps_*``, row taps ``norm_*``)."""
    height, width = image.shape
    radius = taps_c.size // 2
    v_c, v_s = np.zeros(width + 2 * radius), np.zeros(width + 2 * radius)
    h_c, h_s = np.empty(width), np.empty(width)
    for i in range(height):
        _vertical_pair(
            v_c[radius : radius + width], v_s[radius : radius + width], taps_c, taps_s, image, i
        )
        _horizontal(h_c, norm_c, v_c)
        _horizontal(h_s, norm_s, v_s)
        row = out[i]
        for j in range(width):
            c = abs(h_c[j] / h_s[j] - 1.0)
            squared = c * c
            row[j] = squared * c / (squared + z)


@njit(**_JIT)
def qcb_quality_sum(c_f, c_ir, c_vis):  # pragma: no cover - compiled
    """(sum of the Chen-Blum quality map, ok) from the masked contrasts of F, IR and VIS;
    ``ok`` is False where VIFB gives NaN: a contrast is 0, Inf or NaN somewhere."""
    f, a, b = c_f.ravel(), c_ir.ravel(), c_vis.ravel()
    total = 0.0
    bad = 0
    for i in range(f.size):
        cf, ca, cb = f[i], a[i], b[i]
        bad += not (0.0 < cf < np.inf and 0.0 < ca < np.inf and 0.0 < cb < np.inf)
        saliency_vis, saliency_ir = cb * cb, ca * ca
        both = saliency_vis + saliency_ir
        quality = saliency_vis / both * (min(cb, cf) / max(cb, cf))
        total += quality + saliency_ir / both * (min(ca, cf) / max(ca, cf))
    return total, bad == 0


@njit(**_JIT)
def sobel_magnitude_sum(image):  # pragma: no cover - compiled
    """sum of the 3x3 Sobel magnitude sqrt(gx^2 + gy^2) with replicated borders (MATLAB
    ``imfilter(.., 'replicate')`` with ``fspecial('sobel')``)."""
    height, width = image.shape
    ring = np.empty((3, width + 2))
    gx, gy, g = np.empty(width), np.empty(width), np.empty(width)
    total = 0.0
    for i in range(height):
        _advance_ring(image, i, ring, REPLICATE_BORDER, 1.0)
        _sobel8_row(ring[(i - 1) % 3], ring[i % 3], ring[(i + 1) % 3], gx, gy, g)
        for j in range(width):
            total += g[j]
    return total * 8.0  # _sobel8_row's magnitude is exactly 1/8 of the Sobel magnitude


@njit(**_JIT)
def block_saliency(image, block, alpha):  # pragma: no cover - compiled
    """sum(g^alpha) per ``block`` x ``block`` block (zero padding at bottom/right), g the
    Sobel magnitude by ``filter2(.., 'same')`` (zero padding); ``alpha`` a positive integer."""
    height, width = image.shape
    out = np.zeros((-(-height // block), -(-width // block)))
    ring = np.empty((3, width + 2))
    gx, gy, g = np.empty(width), np.empty(width), np.empty(width)
    for i in range(height):
        _advance_ring(image, i, ring, ZERO_BORDER, 1.0)
        _sobel8_row(ring[(i - 1) % 3], ring[i % 3], ring[(i + 1) % 3], gx, gy, g)
        for j in range(width):
            magnitude = g[j] * 8.0
            power = magnitude
            for _ in range(alpha - 1):
                power *= magnitude
            g[j] = power
        _add_block_row(out[i // block], g, block)
    return out


@njit(inline="always", fastmath={"contract", "reassoc"})
def _add_block_row(sums, values, block):  # pragma: no cover - compiled
    """sums[j // block] += values[j] for every column j."""
    for start in range(0, values.size, block):
        total = 0.0
        for j in range(start, min(start + block, values.size)):
            total += values[j]
        sums[start // block] += total


@njit(**_JIT)
def block_mean_squares(image, block):  # pragma: no cover - compiled
    """sum(x^2) / block^2 per ``block`` x ``block`` block, zero padding at bottom/right (a
    partial block is still divided by block^2, as MATLAB ``blkproc``)."""
    height, width = image.shape
    out = np.zeros((-(-height // block), -(-width // block)))
    squares = np.empty(width)
    for i in range(height):
        row = image[i]
        for j in range(width):
            squares[j] = row[j] * row[j]
        _add_block_row(out[i // block], squares, block)
    return out / (block * block)
