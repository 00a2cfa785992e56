"""Compiled (numba) kernels of the phase-congruency metric Qp: the per-pixel work between the
FFTs of :mod:`ivifbench.metrics.phase_congruency`, fused into few passes over the image.

The numpy code in that module is the reference (``tests/test_metrics_phase.py`` pins both
paths); :func:`ivifbench.metrics.kernels.reference_path` turns these kernels off. Float64,
one thread, C-contiguous arrays; the log-Gabor responses are complex128 stacks (scale, row,
column).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Cephes exp without a library call (vectorises), shared with the other compiled kernels.
from ivifbench.metrics.kernels import _exp

_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract", "reassoc"}}


@njit(**_JIT)
def filtered_spectra(half, log_gabor, spread, out):  # pragma: no cover - compiled
    """out[s] = F x (log_gabor[s] x spread): the inputs of the inverse FFTs of one orientation
    (the filter product as ``myphasecong3`` forms it). ``half`` is the ``rfft2`` half plane
    of the real image; the other columns are its Hermitian mirror,
    F[i, j] = conj(F[-i, -j])."""
    scales, rows, cols = log_gabor.shape
    stored = half.shape[1]
    for s in range(scales):
        for i in range(rows):
            for j in range(stored):
                h = log_gabor[s, i, j] * spread[i, j]
                z = half[i, j]
                out[s, i, j] = complex(z.real * h, z.imag * h)
            mirror = (rows - i) % rows
            for j in range(stored, cols):
                h = log_gabor[s, i, j] * spread[i, j]
                z = half[mirror, cols - j]
                out[s, i, j] = complex(z.real * h, -z.imag * h)


@njit(**_JIT)
def orientation_energy(eo, epsilon, energy, sum_an, width, amp1sq):  # pragma: no cover
    """One orientation's per-pixel terms from its responses ``eo`` (scale, row, column):
    raw energy sum_s (E_s MeanE + O_s MeanO - |E_s MeanO - O_s MeanE|) (before the noise
    threshold), summed amplitude, frequency-spread width sum_an / (max_an + eps) / nscale,
    and the squared amplitude at the smallest scale (for the noise median). Row by row, so
    that the loops over a row vectorise."""
    scales, rows, cols = eo.shape
    sum_e = np.empty(cols)
    sum_o = np.empty(cols)
    largest = np.empty(cols)
    for i in range(rows):
        total = sum_an[i]
        for j in range(cols):
            e = eo[0, i, j].real
            o = eo[0, i, j].imag
            amplitude = math.sqrt(e * e + o * o)
            amp1sq[i, j] = amplitude * amplitude
            total[j] = amplitude
            largest[j] = amplitude
            sum_e[j] = e
            sum_o[j] = o
        for s in range(1, scales):
            for j in range(cols):
                e = eo[s, i, j].real
                o = eo[s, i, j].imag
                amplitude = math.sqrt(e * e + o * o)
                total[j] += amplitude
                largest[j] = max(largest[j], amplitude)
                sum_e[j] += e
                sum_o[j] += o
        for j in range(cols):
            x_energy = math.sqrt(sum_e[j] * sum_e[j] + sum_o[j] * sum_o[j]) + epsilon
            sum_e[j] /= x_energy  # now MeanE
            sum_o[j] /= x_energy  # now MeanO
            width[i, j] = total[j] / (largest[j] + epsilon) / scales
        acc = energy[i]
        acc[:] = 0.0
        for s in range(scales):
            for j in range(cols):
                e = eo[s, i, j].real
                o = eo[s, i, j].imag
                mean_e = sum_e[j]
                mean_o = sum_o[j]
                acc[j] = acc[j] + e * mean_e + o * mean_o - abs(e * mean_o - o * mean_e)


@njit(**_JIT)
def median(values, scratch):  # pragma: no cover - compiled
    """MATLAB ``median`` of all elements of ``values`` (mean of the two middle ones for an
    even count), exactly. A strided sample brackets the middle; one pass counts the values
    below the bracket and copies those inside it to ``scratch`` (same size), where the
    middle ones are selected; if the bracket misses, the whole array is selected in place."""
    flat = values.ravel()
    n = flat.size
    k = n // 2  # upper middle (0-based); the lower one is k - 1 for even n
    if n >= 4096:
        sample = flat[::17].copy()  # 17: prime, so the sample visits every column of most widths
        m = sample.size
        centre = (k * m) // n
        margin = 4 * int(math.sqrt(m)) + 32
        lo_index = max(centre - margin, 0)
        hi_index = min(centre + margin, m - 1)
        _select(sample, lo_index)
        lo = sample[lo_index]
        _select(sample[lo_index:], hi_index - lo_index)
        hi = sample[hi_index]
        below = 0
        count = 0
        for t in range(n):
            v = flat[t]
            below += v < lo
            scratch[count] = v  # kept only if inside: no unpredictable branch
            count += (v >= lo) & (v <= hi)
        first = k - 1 if n % 2 == 0 else k
        if below <= first and k < below + count:
            return _middle(scratch[:count], k - below, n % 2 == 0)
    return _middle(flat, k, n % 2 == 0)


@njit(**_JIT)
def _middle(a, k, even):  # pragma: no cover - compiled
    """a's k-th smallest element, or the mean of its (k - 1)-th and k-th when ``even``
    (``a`` is reordered)."""
    _select(a, k)
    upper = a[k]
    if not even:
        return upper
    lower = a[0]
    for t in range(1, k):
        lower = max(lower, a[t])
    return (lower + upper) / 2


@njit(**_JIT)
def _select(a, k):  # pragma: no cover - compiled
    """Reorder ``a`` so that a[k] is its k-th smallest element, a[:k] <= a[k] <= a[k + 1:]
    (Hoare quickselect, median-of-three pivots; finite values)."""
    lo, hi = 0, a.size - 1
    while hi > lo:
        mid = (lo + hi) // 2
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@njit(**_JIT)
def moments(
    energy, sum_an, width, thresholds, cos_sin, cut_off, gain, epsilon, out
):  # pragma: no cover
    """out = (phase congruency, maximum moment, minimum moment) from every orientation o's
    raw ``energy[o]``, ``sum_an[o]``, ``width[o]`` and noise threshold ``thresholds[o]``:
    energy max(raw - T, 0) weighted by 1 / (1 + e^((cut_off - width) gain)), summed over
    orientations and divided by the summed amplitudes + eps; the moments from the covariance
    of the per-orientation phase congruency weighted energy / sum_an (0/0 = NaN where every
    response is 0) along (cos, sin) of the orientation."""
    orientations, rows, cols = energy.shape
    half = orientations / 2
    acc = np.empty((5, cols))  # total energy, total amplitude, covx2, covy2, covxy of a row
    for i in range(rows):  # row by row, orientations outer: contiguous loops that vectorise
        acc[:] = 0.0
        for o in range(orientations):
            threshold = thresholds[o]
            cos_o = cos_sin[o, 0]
            sin_o = cos_sin[o, 1]
            for j in range(cols):
                excess = energy[o, i, j] - threshold
                weight = 1.0 / (1.0 + _exp((cut_off - width[o, i, j]) * gain))
                weighted = weight * excess if excess > 0.0 else 0.0
                acc[0, j] += weighted
                acc[1, j] += sum_an[o, i, j]
                pc = weighted / sum_an[o, i, j]
                covx = pc * cos_o
                covy = pc * sin_o
                acc[2, j] += covx * covx
                acc[3, j] += covy * covy
                acc[4, j] += covx * covy
        for j in range(cols):
            out[0, i, j] = acc[0, j] / (acc[1, j] + epsilon)
            covx2 = acc[2, j] / half
            covy2 = acc[3, j] / half
            covxy = acc[4, j] / orientations
            diff = covx2 - covy2
            denom = math.sqrt(covxy * covxy + diff * diff) + epsilon
            out[1, i, j] = (covy2 + covx2 + denom) / 2
            out[2, i, j] = (covy2 + covx2 - denom) / 2


@njit(inline="always")
def _fmax(a, b):  # pragma: no cover - compiled
    """MATLAB ``max(a, b)``: NaN only when both are NaN."""
    return a if (a >= b or b != b) else b


@njit(**_JIT)
def correlation_sum(x1, x2, x3, f, m1, m2, m3, taps, c):  # pragma: no cover - compiled
    """Sum over pixels of Liu's ``correlation_coeffcient`` map: the largest of the three
    (cov(x_q, f) + c) / (sqrt(|var(x_q) var(f)|) + c), each only where mask ``m_q`` is set
    (elsewhere 0, or NaN where the local mean is NaN), local moments by ``filter2(w, ., 'same')``
    with w = taps' * taps and zero padding. ``x_q`` are the masked feature maps."""
    rows, cols = f.shape
    n = taps.size
    radius = n // 2
    # vertical sums of x1 x2 x3 f, x1^2 x2^2 x3^2 f^2, x1 f x2 f x3 f, zero-padded left/right
    v = np.zeros((11, cols + 2 * radius))
    h = np.empty((11, cols))
    total = 0.0
    for i in range(rows):
        v[:, radius : radius + cols] = 0.0
        for k in range(n):
            r = i + k - radius
            if r < 0 or r >= rows:
                continue
            t = taps[k]
            for j in range(cols):
                a = x1[r, j]
                b = x2[r, j]
                d = x3[r, j]
                e = f[r, j]
                jj = j + radius
                v[0, jj] += t * a
                v[1, jj] += t * b
                v[2, jj] += t * d
                v[3, jj] += t * e
                v[4, jj] += t * (a * a)
                v[5, jj] += t * (b * b)
                v[6, jj] += t * (d * d)
                v[7, jj] += t * (e * e)
                v[8, jj] += t * (a * e)
                v[9, jj] += t * (b * e)
                v[10, jj] += t * (d * e)
        for q in range(11):
            for j in range(cols):
                h[q, j] = 0.0
            for k in range(n):
                t = taps[k]
                for j in range(cols):
                    h[q, j] += t * v[q, j + k]
        for j in range(cols):
            mu_f = h[3, j]
            var_f = h[7, j] - mu_f * mu_f
            best = 0.0
            for q in range(3):
                mu = h[q, j]
                mask = m1[i, j] if q == 0 else (m2[i, j] if q == 1 else m3[i, j])
                if mask:
                    var = h[4 + q, j] - mu * mu
                    cov = h[8 + q, j] - mu * mu_f
                    value = (cov + c) / (math.sqrt(abs(var * var_f)) + c)
                else:
                    value = mu * 0.0
                best = value if q == 0 else _fmax(best, value)
            total += best
    return total
