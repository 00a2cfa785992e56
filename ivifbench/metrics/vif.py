"""VIF: Sheikh and Bovik's multi-scale pixel-domain visual information fidelity (VIFp),
summed over the two sources (Tang ``vifp_mscale``, CDDFuse ``Evaluator.VIFF``)."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics.filtering import filter2_valid, gaussian_window_1d, valid_bands

#: Window size of each scale; sigma is size / 5 (``fspecial('gaussian', N, N/5)``).
SCALE_WINDOWS = (17, 9, 5, 3)
#: Variance threshold of the reference code.
EPS = 1e-10
#: Smallest height/width for which all four scales keep at least one 'valid' pixel.
MIN_SIDE = 41


def _source_variance(mu: np.ndarray, e2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local variance clipped at 0, and where it reaches the threshold EPS."""
    variance = mu * mu
    np.subtract(e2, variance, out=variance)
    np.maximum(variance, 0.0, out=variance)
    return variance, variance >= EPS


def _information_sums(
    mu1: np.ndarray,
    e11: np.ndarray,
    e12: np.ndarray,
    mu2: np.ndarray,
    sigma2_sq: np.ndarray,
    informative2: np.ndarray,
    sigma_nsq: float,
) -> tuple[float, float]:
    """Numerator and denominator sums of one scale and one reference.

    The reference code's masks reduce to: a pixel adds log10(1 + g^2 s1 / (sv + sigma_nsq)) to
    the numerator only where s1 >= EPS, s2 >= EPS and g > 0 (everywhere else that term is
    log10(1) = 0), with g = s12 / (s1 + EPS) and sv = max(s2 - g s12, EPS); and
    log10(1 + s1 / sigma_nsq) to the denominator where s1 >= EPS. s1, s2 are clipped at 0.
    """
    sigma1_sq, informative1 = _source_variance(mu1, e11)
    sigma12 = mu1 * mu2
    np.subtract(e12, sigma12, out=sigma12)
    g = sigma1_sq + EPS
    np.divide(sigma12, g, out=g)
    sv_sq = g * sigma12
    np.subtract(sigma2_sq, sv_sq, out=sv_sq)
    np.maximum(sv_sq, EPS, out=sv_sq)
    sigma1_sq *= informative1
    informative1 &= informative2
    informative1 &= g > 0
    g *= g
    g *= sigma1_sq
    sv_sq += sigma_nsq
    g /= sv_sq
    g *= informative1
    g += 1.0
    numerator = float(np.sum(np.log10(g, out=g)))
    sigma1_sq /= sigma_nsq
    sigma1_sq += 1.0
    return numerator, float(np.sum(np.log10(sigma1_sq, out=sigma1_sq)))


def vifp_terms(
    refs: list[np.ndarray], dist: np.ndarray, sigma_nsq: float = 2.0
) -> list[tuple[float, float]]:
    """(numerator, denominator) of VIFp(ref, dist) for each reference, summed over 4 scales.

    ``dist`` is filtered once for all references. Scale k > 1 first low-passes with that
    scale's window ('valid') and keeps every second row and column. ``sigma_nsq`` is the
    visual-noise variance in the data's units (2 for 0-255 data, as the reference code).
    Each scale runs in bands of output rows ('valid' filtering of a band needs only the band's
    rows plus the window size - 1 following rows).
    """
    num = [0.0] * len(refs)
    den = [0.0] * len(refs)
    for scale, size in enumerate(SCALE_WINDOWS):
        taps = gaussian_window_1d(size, size / 5.0)
        if scale > 0:
            refs = [filter2_valid(r, taps)[::2, ::2] for r in refs]
            dist = filter2_valid(dist, taps)[::2, ::2]
        for rows, _ in valid_bands(dist.shape[0], size):
            d = dist[rows]
            mu2 = filter2_valid(d, taps)
            sigma2_sq, informative2 = _source_variance(mu2, filter2_valid(d * d, taps))
            for i, ref in enumerate(refs):
                r = ref[rows]
                n, dn = _information_sums(
                    filter2_valid(r, taps),
                    filter2_valid(r * r, taps),
                    filter2_valid(r * d, taps),
                    mu2,
                    sigma2_sq,
                    informative2,
                    sigma_nsq,
                )
                num[i] += n
                den[i] += dn
    return list(zip(num, den, strict=True))


def visual_information_fidelity(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, *, nan_as_one: bool = False
) -> float:
    """VIF = VIFp(A, F) + VIFp(B, F), unitless (each term is about 0-1; sum up to about 2).

    0-255 data, sigma_n^2 = 2. A per-source 0/0 (constant source) is NaN as in Tang's MATLAB;
    ``nan_as_one=True`` replaces it by 1.0 as CDDFuse does.
    """
    total = 0.0
    for num, den in vifp_terms([a, b], fused):
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.float64(num) / np.float64(den)
        total += 1.0 if (nan_as_one and np.isnan(value)) else float(value)
    return total
