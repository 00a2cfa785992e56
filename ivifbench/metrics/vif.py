"""VIF: Sheikh and Bovik's multi-scale pixel-domain visual information fidelity (VIFp),
summed over the two sources (Tang ``vifp_mscale``, CDDFuse ``Evaluator.VIFF``)."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics import kernels
from ivifbench.metrics.matlab_compat import (
    filter2_valid_rows,
    filter2_valid_subsampled,
    gaussian_window_1d,
)
from ivifbench.metrics.numerics import sum_log10, valid_bands

#: Window size of each scale; sigma is size / 5 (``fspecial('gaussian', N, N/5)``).
SCALE_WINDOWS = (17, 9, 5, 3)
#: Variance threshold of the reference code.
EPS = 1e-10
#: Smallest height/width for which all four scales keep at least one 'valid' pixel.
MIN_SIDE = 41
#: Output rows per band (larger than the default: the 17-row window's halo is filtered twice).
VIF_BAND_ROWS = 128


def local_variance(mu: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """Local variance E[x^2] - mu^2 clipped at 0 (a new array)."""
    variance = mu * mu
    np.subtract(e2, variance, out=variance)
    return np.maximum(variance, 0.0, out=variance)


def source_gains(
    mu_s: np.ndarray,
    e_ss: np.ndarray,
    e_sf: np.ndarray,
    mu_f: np.ndarray,
    var_f: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel (gain g, source variance s^2, distortion variance v^2) of one source S against
    the distorted/fused image F, from local means ``mu_*`` and raw second moments ``e_*``
    (``var_f``: F's local variance clipped at 0). Overwrites ``mu_s``, ``e_ss`` and ``e_sf``.

    The reference codes' masks (Sheikh's ``vifp_mscale``, Han's ``VIFF_Public.m``) reduce to:
    s^2 clipped at 0 and zeroed below EPS; g = s_SF / (s^2 + EPS) where s^2 >= EPS,
    var_f >= EPS and g > 0, else 0; v^2 = max(var_f - g s_SF, EPS) with the unmasked g (v^2
    only matters where g > 0).
    """
    cov = e_sf
    cov -= mu_s * mu_f
    var_s = e_ss
    var_s -= np.multiply(mu_s, mu_s, out=mu_s)
    np.maximum(var_s, 0.0, out=var_s)
    gain = np.add(var_s, EPS, out=mu_s)
    np.divide(cov, gain, out=gain)
    noise = np.multiply(gain, cov, out=cov)
    np.subtract(var_f, noise, out=noise)
    np.maximum(noise, EPS, out=noise)
    informative = var_s >= EPS
    var_s *= informative
    informative &= var_f >= EPS
    informative &= gain > 0
    gain *= informative
    return gain, var_s, noise


def _information_sums(
    source: tuple[np.ndarray, np.ndarray, np.ndarray],
    mu_f: np.ndarray,
    var_f: np.ndarray,
    sigma_nsq: float,
    columns: slice,
) -> tuple[float, float]:
    """Numerator and denominator sums over ``columns`` of one scale and one reference S (the
    distorted image F): sum log10(1 + g^2 s^2 / (v^2 + sigma_nsq)) and
    sum log10(1 + s^2 / sigma_nsq) with g, s^2, v^2 from :func:`source_gains` (``source`` =
    S's local mean, E[S^2], E[SF]).

    Through :func:`sum_log10` (no per-pixel logarithm); the numerator as the sum of log10 of
    the factors' numerators minus that of their denominators (no per-pixel division). Both
    sums are exactly 0 where every term is (a constant source gives 0/0, as the reference).
    """
    gain, var_s, noise = source_gains(*source, mu_f, var_f)
    noise += sigma_nsq
    gain *= gain
    gain *= var_s
    gain += noise
    numerator = sum_log10(gain, columns) - sum_log10(noise, columns)
    var_s /= sigma_nsq
    var_s += 1.0
    return numerator, sum_log10(var_s, columns)


def vifp_terms(
    refs: list[np.ndarray], dist: np.ndarray, sigma_nsq: float = 2.0
) -> list[tuple[float, float]]:
    """(numerator, denominator) of VIFp(ref, dist) for each reference, summed over 4 scales.

    ``dist`` is filtered once for all references. Scale k > 1 first low-passes with that
    scale's window ('valid') and keeps every second row and column. ``sigma_nsq`` is the
    visual-noise variance in the data's units (2 for 0-255 data, as the reference code).
    Each scale runs in bands of output rows ('valid' filtering of a band needs only the band's
    rows plus the window size - 1 following rows), through buffers reused by every band.
    """
    num = [0.0] * len(refs)
    den = [0.0] * len(refs)
    for scale, size in enumerate(SCALE_WINDOWS):
        taps = gaussian_window_1d(size, size / 5.0)
        if scale > 0:
            refs = [filter2_valid_subsampled(r, taps) for r in refs]
            dist = filter2_valid_subsampled(dist, taps)
        height, width = dist.shape
        valid = slice(size // 2, width - size // 2)
        # Buffers: a product, F's mean and E[F^2], and S's mean, E[S^2], E[SF].
        buffers = np.empty((6, min(VIF_BAND_ROWS + size - 1, height), width))
        for rows, _ in valid_bands(height, size, VIF_BAND_ROWS):
            product, *filtered = buffers[:, : rows.stop - rows.start]
            d = dist[rows]
            mu_f = filter2_valid_rows(d, taps, filtered[0])
            e_ff = filter2_valid_rows(np.multiply(d, d, out=product), taps, filtered[1])
            var_f = local_variance(mu_f, e_ff)
            for i, ref in enumerate(refs):
                r = ref[rows]
                source = (
                    filter2_valid_rows(r, taps, filtered[2]),
                    filter2_valid_rows(np.multiply(r, r, out=product), taps, filtered[3]),
                    filter2_valid_rows(np.multiply(r, d, out=product), taps, filtered[4]),
                )
                n, dn = _information_sums(source, mu_f, var_f, sigma_nsq, valid)
                num[i] += n
                den[i] += dn
    return list(zip(num, den, strict=True))


def compiled_scales(a: np.ndarray, b: np.ndarray, dist: np.ndarray):
    """Yield (scale, dist, a, b, taps, source buffer, mode) of each of the four scales for the
    compiled kernels: the images low-passed and subsampled to that scale, and the buffer of
    the sources' moments at that scale (shared by VIF and VIFF, and by every fused image of
    a source pair inside :func:`kernels.shared_sources`)."""
    a, b, dist = kernels.contiguous(a, b, dist)
    identity = (kernels.array_key(a), kernels.array_key(b))
    keep = (a, b)
    for scale, size in enumerate(SCALE_WINDOWS):
        taps = gaussian_window_1d(size, size / 5.0)
        if scale > 0:
            shape = kernels.subsampled_shape(dist.shape, taps)
            dist = kernels.subsample_valid(
                dist, taps, kernels.workspace(f"vif fused {scale}", shape)
            )
            a, b = kernels.shared(
                ("vif sources", scale, *identity),
                keep,
                lambda a=a, b=b, taps=taps, shape=shape, scale=scale: tuple(
                    kernels.subsample_valid(
                        x, taps, kernels.kept_array(f"vif {name} {scale}", shape)
                    )
                    for x, name in ((a, "A"), (b, "B"))
                ),
            )
        shape = (4, dist.shape[0] - size + 1, dist.shape[1] - size + 1)
        sources, mode = kernels.source_buffer(("vif moments", scale, *identity), keep, shape)
        # Scale 0 (most of the work) gets the taps as a tuple: a loop unrolled for 17 taps.
        yield scale, dist, a, b, tuple(taps) if scale == 0 else taps, sources, mode


def _vifp_terms_compiled(
    a: np.ndarray, b: np.ndarray, dist: np.ndarray, sigma_nsq: float
) -> list[tuple[float, float]] | None:
    """:func:`vifp_terms` of the references (a, b) by the compiled kernels; ``None`` if a
    product of factors left the safe range (then the numpy path decides)."""
    sums = np.zeros(4)
    for _, dist_s, a_s, b_s, taps, sources, mode in compiled_scales(a, b, dist):
        scale_sums = kernels.vif_scale_sums(dist_s, a_s, b_s, taps, sigma_nsq, EPS, sources, mode)
        if scale_sums[4]:
            return None
        sums += scale_sums[:4]
    return [(float(sums[0]), float(sums[1])), (float(sums[2]), float(sums[3]))]


def visual_information_fidelity(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, *, nan_as_one: bool = False
) -> float:
    """VIF = VIFp(A, F) + VIFp(B, F), unitless (each term is about 0-1; sum up to about 2).

    0-255 data, sigma_n^2 = 2. A per-source 0/0 (constant source) is NaN as in Tang's MATLAB;
    ``nan_as_one=True`` replaces it by 1.0 as CDDFuse does.
    """
    terms = _vifp_terms_compiled(a, b, fused, 2.0) if kernels.active() else None
    total = 0.0
    for num, den in terms or vifp_terms([a, b], fused):
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.float64(num) / np.float64(den)
        total += 1.0 if (nan_as_one and np.isnan(value)) else float(value)
    return total
