"""Haghighat's feature mutual information (FMI) as Tang's ``analysis_fmi.m`` computes it
(FAST-FMI: M. Haghighat, M. A. Razian, AICT 2014; FMI: Haghighat et al., Computers and
Electrical Engineering 37 (2011) 744-756), window w = 3, on float64 images in 0-255.

Each image is turned into a feature map (``none``: the pixels; ``edge``: MATLAB ``edge``;
``dct``: ``dct2``; ``wavelet``: ``dwt2(.., 'dmey')`` as [cA, cH; cV, cD], rescaled to 0..1
over the whole map). For every w x w window of the maps the normalised mutual information
of (A, F) and of (B, F) is estimated from the windows taken as probability vectors (their
values min-max scaled to 0..1, divided by their sum, in MATLAB's column-major order) with a
joint distribution from Nelsen's method between the two and Frechet's bound; the map value
is their mean, and FMI is the mean of the map (unitless, 0..1 in practice, higher is
better).

Tang's code, kept exactly: a window pair that is element-wise equal scores 1; F's window is
rescaled in place by the (A, F) step, so (B, F) compares B's raw window with F's rescaled one
(both are rescaled again, which changes nothing); ``c == 0`` and zero spreads give phi = 0;
joint cells with jpdf == 0 are skipped and ``real(-jpdf log2 jpdf)`` of a negative jpdf is
-jpdf log2|jpdf|; mi == 0 gives 0.

This module holds the readable numpy reference (vectorised over windows, sums in MATLAB's
order); :mod:`ivifbench.metrics.fmi_kernel` is the compiled fast path, pinned to it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ivifbench.metrics import fmi_kernel, kernels
from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.matlab_features import dct2, dwt2_dmey, edge_sobel

#: ``analysis_fmi``'s default window (w x w).
WINDOW = 3
#: One window must fit the feature map (the wavelet map is always larger than the image).
MIN_SIDE = WINDOW
#: Windows per block of the numpy reference (bounds its (windows, l, l) temporaries).
_BLOCK = 4096


def _rerange(x: np.ndarray) -> np.ndarray:
    """Tang's ``rerange``: (x - min) / (max - min) over the whole map, ones if constant."""
    lo, hi = x.min(), x.max()
    if hi == lo:
        return np.ones_like(x)
    return (x - lo) / (hi - lo)


def _wavelet(image: np.ndarray) -> np.ndarray:
    """``rerange([cA, cH; cV, cD])`` of ``dwt2(image, 'dmey')``."""
    a, h, v, d = dwt2_dmey(image)
    return _rerange(np.block([[a, h], [v, d]]))


#: feature name of ``analysis_fmi`` -> transform of one image.
FEATURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda image: image,
    "edge": edge_sobel,
    "dct": dct2,
    "wavelet": _wavelet,
}


def _columns(features: np.ndarray, w: int) -> np.ndarray:
    """(windows, w * w) array of every w x w window, flattened in MATLAB's column-major order;
    windows in row-major order of their top-left pixel."""
    view = sliding_window_view(features, (w, w))  # (rows, cols, i, j)
    return view.transpose(0, 1, 3, 2).reshape(-1, w * w)


def _sequential_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis, left to right (MATLAB's ``sum`` of a short vector)."""
    total = np.zeros(x.shape[:-1])
    for k in range(x.shape[-1]):
        total = total + x[..., k]
    return total


def _rescale(x: np.ndarray) -> np.ndarray:
    """Each row (a window) min-max scaled to 0..1; constant rows become ones."""
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    flat = hi == lo
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = (x - lo) / (hi - lo)
    return np.where(flat, 1.0, scaled)


def _entropy_terms(p: np.ndarray) -> np.ndarray:
    """real(-p log2 p) where p != 0, else 0 (the terms ``find(p ~= 0)`` keeps and Tang's
    ``real(-jpdf .* log2(jpdf))``: -p log2|p| for a negative p; complex p where MATLAB's
    spreads went imaginary)."""
    nonzero = p != 0
    safe = np.where(nonzero, p, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.iscomplexobj(p):
            return np.where(nonzero, np.real(-p * (np.log(safe) / np.log(2.0))), 0.0)
        return np.where(nonzero, -p * np.log2(np.abs(safe)), 0.0)


def _joint_order(cells: int) -> list[tuple[int, int]]:
    """The cells (i, j) (i: F, j: source; 0-based) in the order Tang's loops add them."""
    return (
        [(0, 0)]
        + [(i, 0) for i in range(1, cells)]
        + [(0, j) for j in range(1, cells)]
        + [(i, j) for i in range(1, cells) for j in range(1, cells)]
    )


def _copula(f_cdf: np.ndarray, s_cdf: np.ndarray, upper: bool) -> np.ndarray:
    """(windows, l, l) Frechet bound C(i, j) of the CDFs as Tang writes it: upper
    0.5 (F + S - |F - S|), lower 0.5 (F + S - 1 + |F + S - 1|)."""
    f, s = f_cdf[:, :, None], s_cdf[:, None, :]
    if upper:
        return 0.5 * (f + s - np.abs(f - s))
    return 0.5 * (f + s - 1.0 + np.abs(f + s - 1.0))


def _cell_masses(c: np.ndarray) -> np.ndarray:
    """Masses of the cells of the bound: C(i, j) - C(i-1, j) - C(i, j-1) + C(i-1, j-1), the
    terms outside the grid left out, in Tang's order of operations."""
    mass = c.copy()
    mass[:, 1:, 0] = c[:, 1:, 0] - c[:, :-1, 0]
    mass[:, 0, 1:] = c[:, 0, 1:] - c[:, 0, :-1]
    mass[:, 1:, 1:] = c[:, 1:, 1:] - c[:, :-1, 1:] - c[:, 1:, :-1] + c[:, :-1, :-1]
    return mass


def _column_major_total(x: np.ndarray) -> np.ndarray:
    """``sum(sum(window))`` of each row (a window flattened column-major, w x w): the column
    sums, then their sum, each left to right."""
    w = int(round(np.sqrt(x.shape[1])))
    return _sequential_sum(
        np.stack([_sequential_sum(x[:, c * w : (c + 1) * w]) for c in range(w)], -1)
    )


def _index_variance(pdf: np.ndarray) -> np.ndarray:
    """Variance of the index 1..l under each row's pdf, sum(i^2 p_i) - sum(i p_i)^2 (sums left
    to right). Round-off can make it negative for a nearly one-point pdf: MATLAB's ``sqrt``
    then gives an imaginary spread and Tang's code goes on in complex arithmetic."""
    index = np.arange(1.0, pdf.shape[1] + 1.0)
    mean = _sequential_sum(index * pdf)
    second = _sequential_sum((index * index) * pdf)
    return second - mean * mean


def _spread(variance: np.ndarray) -> np.ndarray:
    """MATLAB ``sqrt`` of the variances: real, or complex if one is negative."""
    if np.any(variance < 0):
        return np.sqrt(variance.astype(complex))
    return np.sqrt(variance)


def _mixture_entropy(
    c: np.ndarray,
    s_pdf: np.ndarray,
    f_pdf: np.ndarray,
    s_var: np.ndarray,
    f_var: np.ndarray,
    upper: bool,
) -> np.ndarray:
    """Entropy (bits) of Nelsen's joint pdf phi C + (1 - phi) p_F p_S of each row, C the upper
    (c >= 0) or lower (c < 0) Frechet bound of the CDFs, phi = c / corr(C) (0 where a spread
    is 0, or c is 0 for the upper bound), summed in Tang's order."""
    cells = s_pdf.shape[1]
    s_cdf, f_cdf = np.cumsum(s_pdf, axis=1), np.cumsum(f_pdf, axis=1)
    bound = _copula(f_cdf, s_cdf, upper)
    covariance = np.zeros(c.size)
    for i in range(cells):
        for j in range(cells):
            covariance = covariance + bound[:, i, j] - f_cdf[:, i] * s_cdf[:, j]
    s_sd, f_sd = _spread(s_var), _spread(f_var)
    degenerate = (s_sd == 0) | (f_sd == 0)
    if upper:
        degenerate |= c == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(degenerate, 0.0, c / (covariance / (f_sd * s_sd)))
    independent = (1.0 - weight)[:, None, None] * f_pdf[:, :, None]
    jpdf = weight[:, None, None] * _cell_masses(bound) + independent * s_pdf[:, None, :]
    terms = _entropy_terms(jpdf)
    total = np.zeros(c.size)
    for i, j in _joint_order(cells):
        total = total + terms[:, i, j]
    return total


def _joint_entropy(c: np.ndarray, s_pdf: np.ndarray, f_pdf: np.ndarray) -> np.ndarray:
    """Entropy (bits) of Tang's joint pdf of each row: upper bound where c >= 0, lower where
    c < 0, 0 where c is NaN; rows with an imaginary spread are evaluated in complex."""
    s_var, f_var = _index_variance(s_pdf), _index_variance(f_pdf)
    imaginary = (s_var < 0) | (f_var < 0)
    joint = np.zeros(c.size)
    for upper, side in ((True, c >= 0), (False, c < 0)):
        for rows in (side & ~imaginary, side & imaginary):
            if rows.any():
                joint[rows] = _mixture_entropy(
                    c[rows], s_pdf[rows], f_pdf[rows], s_var[rows], f_var[rows], upper
                )
    return joint


def _pair_nfmi(source: np.ndarray, fused: np.ndarray) -> np.ndarray:
    """Tang's normalised FMI of each row pair of rescaled windows (windows, l)."""
    cells = source.shape[1]
    s_pdf = source / _column_major_total(source)[:, None]
    f_pdf = fused / _column_major_total(fused)[:, None]
    s_temp = s_pdf - (_sequential_sum(s_pdf) / cells)[:, None]
    f_temp = f_pdf - (_sequential_sum(f_pdf) / cells)[:, None]
    numerator = _sequential_sum(s_temp * f_temp)
    norms = _sequential_sum(s_temp * s_temp) * _sequential_sum(f_temp * f_temp)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(numerator == 0, 0.0, numerator / np.sqrt(norms))
    joint = _joint_entropy(c, s_pdf, f_pdf)
    s_entropy = _sequential_sum(_entropy_terms(s_pdf))
    f_entropy = _sequential_sum(_entropy_terms(f_pdf))
    mi = s_entropy + f_entropy - joint
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mi == 0, 0.0, 2.0 * mi / (s_entropy + f_entropy))


def _pair_or_one(equal: np.ndarray, source: np.ndarray, fused: np.ndarray) -> np.ndarray:
    """1 where the raw windows are equal, else the normalised FMI of the rescaled ones."""
    values = np.ones(equal.size)
    todo = ~equal
    if todo.any():
        values[todo] = _pair_nfmi(_rescale(source[todo]), _rescale(fused[todo]))
    return values


def fmi_map_reference(a: np.ndarray, b: np.ndarray, f: np.ndarray, w: int = WINDOW) -> np.ndarray:
    """Tang's ``fmi_map`` of feature maps A, B, F (numpy reference): one value per w x w
    window, flattened row-major."""
    ca, cb, cf = (_columns(x, w) for x in (a, b, f))
    values = np.empty(ca.shape[0])
    for start in range(0, ca.shape[0], _BLOCK):
        part = slice(start, start + _BLOCK)
        wa, wb, wf = ca[part], cb[part], cf[part]
        equal_af = np.all(wa == wf, axis=1)
        af = _pair_or_one(equal_af, wa, wf)
        # Tang rescales F's window in place in the (A, F) step: (B, F) sees the rescaled one.
        wf = np.where(equal_af[:, None], wf, _rescale(wf))
        bf = _pair_or_one(np.all(wb == wf, axis=1), wb, wf)
        values[part] = (af + bf) / 2
    return values


def fmi_of_features(a: np.ndarray, b: np.ndarray, f: np.ndarray, w: int = WINDOW) -> float:
    """``mean2(fmi_map)`` of feature maps A (IR), B (VIS), F: the compiled kernel unless
    :func:`ivifbench.metrics.kernels.reference_path` is active."""
    if kernels.active():
        return fmi_kernel.fmi_mean(*kernels.contiguous(a, b, f), w)
    return float(np.mean(fmi_map_reference(a, b, f, w)))


def _fmi(name: str, feature: str, fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    f, a, b = gray_images(name, MIN_SIDE, fused=fused, ir=ir, vis=vis)
    transform = FEATURES[feature]
    return fmi_of_features(transform(a), transform(b), transform(f))


def fmi_pixel(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """FMI of the raw pixels (``analysis_fmi(IR, VIS, F, 'none')``), unitless, higher is
    better."""
    return _fmi("FMI_pixel", "none", fused, ir, vis)


def fmi_edge(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """FMI of MATLAB ``edge`` maps (``analysis_fmi(IR, VIS, F)``: Tang's ``FMI_pixel`` passes
    no feature and gets the default 'edge'), unitless, higher is better."""
    return _fmi("FMI_edge", "edge", fused, ir, vis)


def fmi_dct(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """FMI of the ``dct2`` coefficient maps (Tang's ``FMI_dct``), unitless, higher is better."""
    return _fmi("FMI_dct", "dct", fused, ir, vis)


def fmi_wavelet(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """FMI of the rescaled ``dwt2(.., 'dmey')`` maps [cA, cH; cV, cD] (Tang's ``FMI_w``),
    unitless, higher is better."""
    return _fmi("FMI_w", "wavelet", fused, ir, vis)
