"""Compiled (numba) kernels of the VIFB-only metrics: Qcb, Qcv, EI and VIFB's min-max
stretches (Qcb, Qcv), and the frequency-domain CSF filters they share.

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
    _sobel8_at,
    _sobel8_neighbours,
    _sobel8_row,
    workspace,
)

#: The stretches round exactly as numpy does: no reassociation or FMA contraction there.
_EXACT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_EXACT)
def _grey_level_range(flat):  # pragma: no cover - compiled
    """(whether every value is an integer grey level 0-255, min level, max level); the
    levels are meaningless when not (integer reductions vectorise, float min/max do not)."""
    bad = False
    lo, hi = 255, 0
    for i in range(flat.size):
        v = flat[i]
        bad |= (v < 0.0) | (v > 255.0) | (v != math.floor(v))
        level = int(v) & 255
        lo = min(lo, level)
        hi = max(hi, level)
    return not bad, lo, hi


@njit(**_EXACT)
def stretch_255(x, out, nan_if_constant):  # pragma: no cover - compiled
    """out = round((x - min) / (max - min) * 255) with MATLAB rounding (halves away from
    zero), 0-255 grey levels. A constant image gives zeros if it is all zero or if not
    ``nan_if_constant`` (VIFB ``mutinf``), else NaN (Z. Liu's ``normalize1``: 0/0).
    Returns whether every input value is an integer grey level 0-255."""
    flat, dest = x.ravel(), out.ravel()
    levels, lo_level, hi_level = _grey_level_range(flat)
    lo, hi = float(lo_level), float(hi_level)
    if not levels:
        lo = hi = flat[0]
        for i in range(flat.size):
            lo = min(lo, flat[i])
            hi = max(hi, flat[i])
    if hi == lo:
        dest[:] = np.nan if (nan_if_constant and hi != 0.0) else 0.0
    else:
        span = hi - lo
        for i in range(flat.size):
            v = (flat[i] - lo) / span * 255.0
            whole = math.floor(v)
            dest[i] = whole + (1.0 if v - whole >= 0.5 else 0.0)
    return levels


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
    _scale_spectrum(spectrum, csf)  # numpy's complex * real broadcast: 0.3 ms, this 0.05
    return ducc0.fft.c2r(
        spectrum,
        axes=(0, 1),
        lastsize=image.shape[1],
        forward=False,
        inorm=2,
        out=out,
        allow_overwriting_input=True,
    )


#: The folded taps of :func:`_folded_taps` have 1 + a multiple of this many entries:
#: :func:`_symmetric_vertical_rows` adds four pairs of rows per sweep, and
#: :func:`_symmetric_horizontal` eight pairs of columns.
FOLDED_PAIRS = 8


@njit(**_JIT)
def _folded_taps(taps):  # pragma: no cover - compiled
    """[taps[r], taps[r + 1], ..., taps[2r], 0, ...] for symmetric ``taps`` of length
    2r + 1: the centre tap, then one tap per pair of rows (columns) at distance k, zero
    padded to 1 + a multiple of :data:`FOLDED_PAIRS` (a zero tap adds 0 * 0 exactly)."""
    radius = taps.size // 2
    pairs = -(-radius // FOLDED_PAIRS) * FOLDED_PAIRS
    folded = np.zeros(pairs + 1)
    folded[: radius + 1] = taps[radius:]
    return folded


@njit(inline="always")
def _row_or_zero(image, k, zero):  # pragma: no cover - compiled
    """Row ``k`` of ``image``, or the zero row outside it (zero padding)."""
    return image[k] if 0 <= k < image.shape[0] else zero


@njit(inline="always", fastmath={"contract", "reassoc"})
def _symmetric_vertical_rows(centre, surround, folded_c, folded_s, image, i, zero):
    """Rows ``i`` and ``i + 1`` of two symmetric column filters (folded taps, see
    :func:`_folded_taps`; zero padding above and below the image) into ``centre[0]``,
    ``centre[1]`` and ``surround[0]``, ``surround[1]`` (row i + 1 below the image: zeros
    in, unused out). Each pair of rows at distance k is added once and weighted by both
    filters; the two output rows share eight of the ten rows each sweep of four pairs reads
    (the image rows come from L2: fewer row loads per output row are what counts here)."""
    x0, x1 = image[i], _row_or_zero(image, i + 1, zero)
    c0, c1, s0, s1 = centre[0], centre[1], surround[0], surround[1]
    w, v = folded_c[0], folded_s[0]
    for j in range(c0.size):
        c0[j], s0[j] = w * x0[j], v * x0[j]
        c1[j], s1[j] = w * x1[j], v * x1[j]
    for k in range(1, folded_c.size, 4):
        u0, u1 = _row_or_zero(image, i - k + 1, zero), _row_or_zero(image, i - k, zero)
        u2, u3 = _row_or_zero(image, i - k - 1, zero), _row_or_zero(image, i - k - 2, zero)
        u4, d0 = _row_or_zero(image, i - k - 3, zero), _row_or_zero(image, i + k, zero)
        d1, d2 = _row_or_zero(image, i + k + 1, zero), _row_or_zero(image, i + k + 2, zero)
        d3, d4 = _row_or_zero(image, i + k + 3, zero), _row_or_zero(image, i + k + 4, zero)
        w0, w1, w2, w3 = folded_c[k], folded_c[k + 1], folded_c[k + 2], folded_c[k + 3]
        v0, v1, v2, v3 = folded_s[k], folded_s[k + 1], folded_s[k + 2], folded_s[k + 3]
        for j in range(c0.size):
            a1, a2, a3, b1, b2, b3 = u1[j], u2[j], u3[j], d1[j], d2[j], d3[j]
            p0, p1, p2, p3 = a1 + d0[j], a2 + b1, a3 + b2, u4[j] + b3  # about row i
            q0, q1, q2, q3 = u0[j] + b1, a1 + b2, a2 + b3, a3 + d4[j]  # about row i + 1
            c0[j] += w0 * p0 + w1 * p1 + w2 * p2 + w3 * p3
            s0[j] += v0 * p0 + v1 * p1 + v2 * p2 + v3 * p3
            c1[j] += w0 * q0 + w1 * q1 + w2 * q2 + w3 * q3
            s1[j] += v0 * q0 + v1 * q1 + v2 * q2 + v3 * q3


@njit(inline="always", fastmath={"contract", "reassoc"})
def _eight_pairs(w, k, lo, hi, j):  # pragma: no cover - compiled
    """sum over m < 8 of w[k + m] * (lo[j + 7 - m] + hi[j + m])."""
    low = w[k] * (lo[j + 7] + hi[j]) + w[k + 1] * (lo[j + 6] + hi[j + 1])
    low += w[k + 2] * (lo[j + 5] + hi[j + 2]) + w[k + 3] * (lo[j + 4] + hi[j + 3])
    high = w[k + 4] * (lo[j + 3] + hi[j + 4]) + w[k + 5] * (lo[j + 2] + hi[j + 5])
    high += w[k + 6] * (lo[j + 1] + hi[j + 6]) + w[k + 7] * (lo[j] + hi[j + 7])
    return low + high


@njit(inline="always", fastmath={"contract", "reassoc"})
def _symmetric_horizontal(out, folded, row):  # pragma: no cover - compiled
    """out[j] = sum_k taps[k] * row[j + k] ('valid') for symmetric taps given folded (see
    :func:`_folded_taps`; ``row`` padded by folded.size - 1 on both sides): each pair of
    columns at distance k is added once, eight pairs per sweep, read through two slices
    (the columns left and right of the centre) at constant offsets."""
    size, pairs = out.size, folded.size - 1
    centre = row[pairs : pairs + size]
    for k in range(1, folded.size, 8):
        lo = row[pairs - k - 7 : pairs - k + size]
        hi = row[pairs + k : pairs + k + 7 + size]
        if k == 1:
            w = folded[0]
            for j in range(size):
                out[j] = w * centre[j] + _eight_pairs(folded, k, lo, hi, j)
        else:
            for j in range(size):
                out[j] += _eight_pairs(folded, k, lo, hi, j)


@njit(**_JIT)
def qcb_contrast(image, taps_c, norm_c, taps_s, norm_s, z, out):  # pragma: no cover
    """out = Chen-Blum masked contrast C^3 / (C^2 + z) with C = |centre / surround - 1|,
    where centre and surround are MATLAB ``filter2(G, image, 'same')`` (zero padding) with
    the separable G = taps' * norm (column taps ``taps_*``, row taps ``norm_*``; all four
    symmetric, as Gaussians are)."""
    height, width = image.shape
    folded_c, folded_s = _folded_taps(taps_c), _folded_taps(taps_s)
    row_c, row_s = _folded_taps(norm_c), _folded_taps(norm_s)
    if folded_c.size != folded_s.size or row_c.size != row_s.size:
        raise ValueError("qcb_contrast: centre and surround taps differ in length")
    pad = row_c.size - 1
    # Column-filtered rows i and i + 1, zero padded for the row filters.
    v_c, v_s = np.zeros((2, width + 2 * pad)), np.zeros((2, width + 2 * pad))
    h_c, h_s = np.empty(width), np.empty(width)
    zero = np.zeros(width)
    for i in range(0, height, 2):
        _symmetric_vertical_rows(
            v_c[:, pad : pad + width], v_s[:, pad : pad + width], folded_c, folded_s, image, i, zero
        )
        for r in range(min(2, height - i)):
            _symmetric_horizontal(h_c, row_c, v_c[r])
            _symmetric_horizontal(h_s, row_s, v_s[r])
            row = out[i + r]
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
    ``imfilter(.., 'replicate')`` with ``fspecial('sobel')``); summed as it is made (the
    square roots bound it), with the responses / 8 of :func:`_sobel8_at` (exact scaling)."""
    height, width = image.shape
    ring = np.empty((3, width + 2))
    total = 0.0
    for i in range(height):
        _advance_ring(image, i, ring, REPLICATE_BORDER, 1.0)
        neighbours = _sobel8_neighbours(ring[(i - 1) % 3], ring[i % 3], ring[(i + 1) % 3], width)
        for j in range(width):
            x, y = _sobel8_at(neighbours, j)
            total += math.sqrt(x * x + y * y)
    return total * 8.0


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
            g[j] *= 8.0
            gx[j] = g[j]
        for _ in range(alpha - 1):  # g^alpha by repeated products, a vectorised pass each
            for j in range(width):
                g[j] *= gx[j]
        _add_block_row(out[i // block], g, block)
    return out


def full_plane(half: np.ndarray, cols: int) -> np.ndarray:
    """The even real filter ``half`` (values on the ``rfft2`` half plane, H(-u, -v) =
    H(u, v)) on the whole ``fft2`` plane of ``cols`` columns: its other columns mirrored."""
    rows = half.shape[0]
    full = np.empty((rows, cols))
    full[:, : half.shape[1]] = half
    mirrored = np.arange(half.shape[1], cols)
    full[:, mirrored] = half[(-np.arange(rows)) % rows][:, cols - mirrored]
    return full


@njit(**_EXACT)
def pack_differences(s, t, f, out):  # pragma: no cover - compiled
    """out = (s - f) + i (t - f), ``out`` a complex128 array of the images' shape."""
    flat = out.reshape(-1).view(np.float64)
    sf, tf, ff = s.ravel(), t.ravel(), f.ravel()
    for i in range(ff.size):
        flat[2 * i] = sf[i] - ff[i]
        flat[2 * i + 1] = tf[i] - ff[i]


@njit(**_EXACT)
def _scale_spectrum(spectrum, filter_values):  # pragma: no cover - compiled
    """spectrum *= filter_values (real), in place."""
    flat, gain = spectrum.reshape(-1).view(np.float64), filter_values.ravel()
    for i in range(gain.size):
        flat[2 * i] *= gain[i]
        flat[2 * i + 1] *= gain[i]


def csf_filtered_pair(pair: np.ndarray, csf_full: np.ndarray) -> np.ndarray:
    """``ifft2(fft2(pair) * csf_full)`` in place: for ``pair = x + i y`` and a real even filter
    (:func:`full_plane`) the real part becomes x filtered and the imaginary part y filtered,
    as two ``rfft2``/``irfft2`` pairs give them (one complex transform pair costs less than
    two real ones, round-off aside: about 1e-16 of the larger image)."""
    ducc0.fft.c2c(pair, axes=(0, 1), out=pair)
    _scale_spectrum(pair, csf_full)
    return ducc0.fft.c2c(pair, axes=(0, 1), forward=False, inorm=2, out=pair)


@njit(**_JIT)
def block_mean_squares_pair(pair, block):  # pragma: no cover - compiled
    """(:func:`block_mean_squares` of the real part, of the imaginary part) of the complex
    image ``pair``."""
    height, width = pair.shape
    shape = (-(-height // block), -(-width // block))
    real, imag = np.zeros(shape), np.zeros(shape)
    squares_real, squares_imag = np.empty(width), np.empty(width)
    for i in range(height):
        row = pair[i].view(np.float64)
        for j in range(width):
            squares_real[j] = row[2 * j] * row[2 * j]
            squares_imag[j] = row[2 * j + 1] * row[2 * j + 1]
        _add_block_row(real[i // block], squares_real, block)
        _add_block_row(imag[i // block], squares_imag, block)
    return real / (block * block), imag / (block * block)


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
