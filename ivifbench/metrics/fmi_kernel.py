"""Compiled (numba) fast path of FMI (:mod:`ivifbench.metrics.fmi`): one pass over the windows
of the feature maps, scalar code with scratch buffers allocated once.

The per-window arithmetic follows Tang's ``analysis_fmi.m`` in its order of operations (no
fast-math), except two sums over the l x l cells (l = w^2). The bound's covariance is a merge
of the two sorted CDFs. For the joint entropy, of the cells of Nelsen's joint pdf
phi M(i, j) + (1 - phi) p_F(i) p_S(j), only the cells where the Frechet bound M has mass (at
most 2 l - 1 of them, found from the CDFs) are evaluated one by one; on the others
jpdf = (1 - phi) p_F(i) p_S(j), whose entropy terms add up in closed form from the marginal
entropies. Tang's code evaluates those cells with M's round-off residue (about 1e-16 x phi),
a difference of order |phi| x 1e-14 per window; windows with |phi| > 100 or a
non-finite phi take all l^2 cells as Tang does. ``tests/test_metrics_fmi.py`` and
``tests/test_metrics_kernels.py`` pin this path to the numpy reference.
"""

from __future__ import annotations

import cmath
import math

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
#: Small helpers of the per-cell loops, inlined into their callers.
_INLINE = {**_JIT, "inline": "always"}
#: Largest |phi| for which the closed form replaces Tang's cell-by-cell sum.
_PHI_BOUND = 100.0
#: Below this index variance a pdf is nearly one point: the covariance and phi are ratios of
#: round-off, so the window takes Tang's own sums.
_SMALL_VARIANCE = 1e-4
_LN2 = math.log(2.0)


@njit(**_JIT)
def _rescale(window, out):  # pragma: no cover - compiled
    """Tang's window rescaling: (x - min) / (max - min), ones if constant."""
    lo, hi = window[0], window[0]
    for k in range(1, window.size):
        lo = min(lo, window[k])
        hi = max(hi, window[k])
    for k in range(window.size):
        out[k] = 1.0 if hi == lo else (window[k] - lo) / (hi - lo)


@njit(**_JIT)
def _marginal(x, w, parts, stats):  # pragma: no cover - compiled
    """Tang's marginal of a rescaled window: parts = (pdf = x / sum(sum(X)) with the column
    sums first, its CDF, log2 of the nonzero pdf entries (0 elsewhere)); stats = (entropy in
    bits, sum of the pdf, its mean, the variance of the index 1..l under it, sum of the CDF)."""
    cells = w * w
    total = 0.0
    for c in range(w):
        column = 0.0
        for r in range(w):
            column += x[c * w + r]
        total += column
    running, first, second, entropy = 0.0, 0.0, 0.0, 0.0
    for k in range(cells):
        p = x[k] / total
        parts[0, k] = p
        running += p
        parts[1, k] = running
        first += (k + 1.0) * p
        second += ((k + 1.0) * (k + 1.0)) * p
        if p != 0.0:
            parts[2, k] = math.log2(p)
            entropy += -p * parts[2, k]
        else:
            parts[2, k] = 0.0
    cdf_sum = 0.0
    for k in range(cells):
        cdf_sum += parts[1, k]
    stats[0], stats[1], stats[2] = entropy, running, running / cells
    stats[3], stats[4] = second - first * first, cdf_sum


@njit(**_INLINE)
def _bound(f_cdf, s_cdf, i, j, upper):  # pragma: no cover - compiled
    """Tang's Frechet bound C(i, j) (0 outside the grid)."""
    if i < 0 or j < 0:
        return 0.0
    if upper:
        return 0.5 * (f_cdf[i] + s_cdf[j] - abs(f_cdf[i] - s_cdf[j]))
    return 0.5 * (f_cdf[i] + s_cdf[j] - 1.0 + abs(f_cdf[i] + s_cdf[j] - 1.0))


@njit(**_INLINE)
def _mass(f_cdf, s_cdf, i, j, upper):  # pragma: no cover - compiled
    """Mass of cell (i, j) of the bound, in Tang's order of operations."""
    if i == 0 and j == 0:
        return _bound(f_cdf, s_cdf, 0, 0, upper)
    if j == 0:
        return _bound(f_cdf, s_cdf, i, 0, upper) - _bound(f_cdf, s_cdf, i - 1, 0, upper)
    if i == 0:
        return _bound(f_cdf, s_cdf, 0, j, upper) - _bound(f_cdf, s_cdf, 0, j - 1, upper)
    return (
        _bound(f_cdf, s_cdf, i, j, upper)
        - _bound(f_cdf, s_cdf, i - 1, j, upper)
        - _bound(f_cdf, s_cdf, i, j - 1, upper)
        + _bound(f_cdf, s_cdf, i - 1, j - 1, upper)
    )


@njit(**_INLINE)
def _term(jpdf):  # pragma: no cover - compiled
    """real(-jpdf log2 jpdf), 0 for jpdf == 0."""
    if jpdf == 0.0:
        return 0.0
    return -jpdf * math.log2(abs(jpdf))


@njit(**_JIT)
def _all_cells(f_pdf, s_pdf, f_cdf, s_cdf, weight, imaginary, cells, upper):  # pragma: no cover
    """Tang's joint entropy cell by cell, in his order: the sum of real(-jpdf log2 jpdf) over
    the cells with jpdf != 0. ``weight`` is complex when a spread was imaginary (then
    log2 z = log(z) / log(2), as MATLAB), else real (imaginary part unused)."""
    total = 0.0
    for k in range(cells * cells):  # (0, 0), (i, 0), (0, j), then (i >= 1, j >= 1)
        if k < cells:
            i, j = k, 0
        elif k < 2 * cells - 1:
            i, j = 0, k - cells + 1
        else:
            i, j = 1 + (k - 2 * cells + 1) // (cells - 1), 1 + (k - 2 * cells + 1) % (cells - 1)
        mass = _mass(f_cdf, s_cdf, i, j, upper)
        if imaginary:
            z = weight * mass + (1.0 - weight) * f_pdf[i] * s_pdf[j]
            if z != 0.0:
                total += (-z * (cmath.log(z) / _LN2)).real
        else:
            total += _term(weight.real * mass + (1.0 - weight.real) * f_pdf[i] * s_pdf[j])
    return total


@njit(**_JIT)
def _covariance(f_cdf, s_cdf, cells, upper):  # pragma: no cover - compiled
    """Tang's covariance of the bound: sum over i, j of C(i, j) - F_i S_j, in his order."""
    covariance = 0.0
    for i in range(cells):
        for j in range(cells):
            covariance = covariance + _bound(f_cdf, s_cdf, i, j, upper)
            covariance = covariance - f_cdf[i] * s_cdf[j]
    return covariance


@njit(**_JIT)
def _bound_total(f_cdf, s_cdf, cells, upper):  # pragma: no cover - compiled
    """sum over all cells of the bound C(i, j), by a merge of the sorted CDFs: the upper bound
    sums min(F_i, S_j), the lower max(F_i + S_j - 1, 0)."""
    total = 0.0
    if upper:
        k, below = 0, 0.0  # below = S_0 + ... + S_(k-1), the S_j < F_i
        for i in range(cells):
            while k < cells and s_cdf[k] < f_cdf[i]:
                below += s_cdf[k]
                k += 1
            total += below + f_cdf[i] * (cells - k)
        return total
    k, above = 0, 0.0  # above = S_k + ... + S_(cells-1), the S_j > 1 - F_i
    for j in range(cells):
        above += s_cdf[j]
    for i in range(cells - 1, -1, -1):
        while k < cells and not s_cdf[k] > 1.0 - f_cdf[i]:
            above -= s_cdf[k]
            k += 1
        total += above + (cells - k) * (f_cdf[i] - 1.0)
    return total


@njit(**_JIT)
def _path_cells(
    f_pdf, s_pdf, f_cdf, s_cdf, f_log, s_log, weight, q, log_q, cells, upper
):  # pragma: no cover
    """Exact entropy terms minus closed-form (independent) terms of the cells where the bound
    has mass, found by a walk along the merged CDF steps. The mass of cell (i, j) is the
    overlap of [F(i-1), F(i)] with [S(j-1), S(j)] (upper bound, walk from (0, 0)) or with
    [1 - S(j), 1 - S(j-1)] (lower bound, walk from (0, l - 1)): Tang's four-term difference
    of the bound, up to round-off."""
    total = 0.0
    i, f_lo = 0, 0.0
    if upper:
        j, s_lo, s_hi = 0, 0.0, s_cdf[0]
    else:
        j, s_lo = cells - 1, 1.0 - s_cdf[cells - 1]
        s_hi = 1.0 - s_cdf[j - 1] if j > 0 else 1.0
    while True:
        f_hi = f_cdf[i]
        independent = q * f_pdf[i] * s_pdf[j]
        total += _term(weight * (min(f_hi, s_hi) - max(f_lo, s_lo)) + independent)
        if independent != 0.0:
            total += independent * (log_q + f_log[i] + s_log[j])
        step_s = s_hi <= f_hi
        if f_hi <= s_hi:
            i += 1
            f_lo = f_hi
            if i == cells:
                break
        if step_s:
            j += 1 if upper else -1
            if j == cells or j < 0:
                break
            s_lo = s_hi
            if upper:
                s_hi = s_cdf[j]
            else:
                s_hi = 1.0 - s_cdf[j - 1] if j > 0 else 1.0
    return total


@njit(**_JIT)
def _pair(s_pdf, s_cdf, s_log, s_stats, f_pdf, f_cdf, f_log, f_stats, cells):  # pragma: no cover
    """Tang's normalised FMI of a source and a fused window from their marginals (pdf, CDF,
    log2 pdf, and the stats of :func:`_marginal`)."""
    s_entropy, s_sum, s_mean, s_var = s_stats[0], s_stats[1], s_stats[2], s_stats[3]
    f_entropy, f_sum, f_mean, f_var = f_stats[0], f_stats[1], f_stats[2], f_stats[3]
    numerator, s_norm, f_norm = 0.0, 0.0, 0.0
    for k in range(cells):
        numerator += (s_pdf[k] - s_mean) * (f_pdf[k] - f_mean)
    for k in range(cells):
        s_norm += (s_pdf[k] - s_mean) * (s_pdf[k] - s_mean)
        f_norm += (f_pdf[k] - f_mean) * (f_pdf[k] - f_mean)
    c = 0.0 if numerator == 0.0 else numerator / math.sqrt(s_norm * f_norm)
    joint = 0.0
    if c >= 0.0 or c < 0.0:
        upper = c >= 0.0
        if s_var < 0.0 or f_var < 0.0:  # MATLAB's sqrt is imaginary: Tang's complex path
            s_sd_c, f_sd_c = cmath.sqrt(complex(s_var, 0.0)), cmath.sqrt(complex(f_var, 0.0))
            weight_c = 0j
            if not (s_sd_c == 0.0 or f_sd_c == 0.0 or (upper and c == 0.0)):
                correlation = _covariance(f_cdf, s_cdf, cells, upper) / (f_sd_c * s_sd_c)
                weight_c = c / correlation if correlation != 0.0 else complex(math.nan, math.nan)
            joint = _all_cells(f_pdf, s_pdf, f_cdf, s_cdf, weight_c, True, cells, upper)
        else:
            s_sd, f_sd = math.sqrt(s_var), math.sqrt(f_var)
            weight = 0.0
            exact = min(s_var, f_var) < _SMALL_VARIANCE
            if not (s_sd == 0.0 or f_sd == 0.0 or (upper and c == 0.0)):
                covariance = _bound_total(f_cdf, s_cdf, cells, upper) - f_stats[4] * s_stats[4]
                weight = c / (covariance / (f_sd * s_sd))
                exact = exact or not abs(weight) <= _PHI_BOUND
                if exact:  # round-off decides: Tang's own sums
                    weight = c / (_covariance(f_cdf, s_cdf, cells, upper) / (f_sd * s_sd))
            if exact and weight != 0.0:
                joint = _all_cells(f_pdf, s_pdf, f_cdf, s_cdf, complex(weight), False, cells, upper)
            else:
                q = 1.0 - weight
                log_q = math.log2(abs(q)) if q != 0.0 else 0.0
                if q != 0.0:  # every cell as q p_F p_S, in closed form
                    joint = -q * (log_q * f_sum * s_sum - s_sum * f_entropy - f_sum * s_entropy)
                if weight != 0.0:
                    joint += _path_cells(
                        f_pdf, s_pdf, f_cdf, s_cdf, f_log, s_log, weight, q, log_q, cells, upper
                    )
    mi = s_entropy + f_entropy - joint
    return 0.0 if mi == 0.0 else 2.0 * mi / (s_entropy + f_entropy)


@njit(**_JIT)
def _source_score(window, scaled, w, s_parts, s_stats, f_parts, f_stats):  # pragma: no cover
    """Tang's normalised FMI of a source window against the fused one, whose marginal is in
    ``f_parts``/``f_stats``: the source window rescaled into ``scaled``, its marginal, then
    :func:`_pair`."""
    _rescale(window, scaled)
    _marginal(scaled, w, s_parts, s_stats)
    s_pdf, s_cdf, s_log = s_parts[0], s_parts[1], s_parts[2]
    f_pdf, f_cdf, f_log = f_parts[0], f_parts[1], f_parts[2]
    return _pair(s_pdf, s_cdf, s_log, s_stats, f_pdf, f_cdf, f_log, f_stats, w * w)


@njit(**_JIT)
def fmi_mean(a, b, f, w):  # pragma: no cover - compiled
    """``mean2(fmi_map)`` of feature maps A, B, F (C-contiguous float64, equal shapes)."""
    rows, cols = a.shape[0] - w + 1, a.shape[1] - w + 1
    cells = w * w
    windows = np.empty((4, cells))  # A, B, F as read; the rescaled window of the current one
    s_parts, f_parts = np.empty((3, cells)), np.empty((3, cells))  # pdf, CDF, log2 pdf
    s_stats, f_stats = np.empty(5), np.empty(5)
    wa, wb, wf, scaled = windows[0], windows[1], windows[2], windows[3]
    total = 0.0
    for p in range(rows):
        for q in range(cols):
            k = 0
            for c in range(w):
                for r in range(w):
                    wa[k] = a[p + r, q + c]
                    wb[k] = b[p + r, q + c]
                    wf[k] = f[p + r, q + c]
                    k += 1
            f_ready = False  # F's marginal of this window computed
            if _equal(wa, wf):
                af = 1.0
            else:
                _rescale(wf, scaled)
                _marginal(scaled, w, f_parts, f_stats)
                f_ready = True
                wf[:] = scaled  # Tang rescales F's window in place
                af = _source_score(wa, scaled, w, s_parts, s_stats, f_parts, f_stats)
            if _equal(wb, wf):
                bf = 1.0
            else:
                if not f_ready:  # (rescaling the rescaled window changes nothing)
                    _rescale(wf, scaled)
                    _marginal(scaled, w, f_parts, f_stats)
                bf = _source_score(wb, scaled, w, s_parts, s_stats, f_parts, f_stats)
            total += (af + bf) / 2.0
    return total / (rows * cols)


@njit(**_JIT)
def _equal(x, y):  # pragma: no cover - compiled
    """MATLAB ``if x == y`` on arrays: every element equal."""
    for k in range(x.size):
        if x[k] != y[k]:
            return False
    return True
