"""VIF: Sheikh and Bovik's multi-scale pixel-domain visual information fidelity (VIFp),
summed over the two sources (Tang ``vifp_mscale``, CDDFuse ``Evaluator.VIFF``)."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics.filtering import filter2_valid, gaussian_window_1d

#: Window size of each scale; sigma is size / 5 (``fspecial('gaussian', N, N/5)``).
SCALE_WINDOWS = (17, 9, 5, 3)
#: Variance threshold of the reference code.
EPS = 1e-10
#: Smallest height/width for which all four scales keep at least one 'valid' pixel.
MIN_SIDE = 41


def vifp_terms(
    refs: list[np.ndarray], dist: np.ndarray, sigma_nsq: float = 2.0
) -> list[tuple[float, float]]:
    """(numerator, denominator) of VIFp(ref, dist) for each reference, summed over 4 scales.

    ``dist`` is filtered once for all references. Scale k > 1 first low-passes with that
    scale's window ('valid') and keeps every second row and column. ``sigma_nsq`` is the
    visual-noise variance in the data's units (2 for 0-255 data, as the reference code).
    """
    num = [0.0] * len(refs)
    den = [0.0] * len(refs)
    for scale, size in enumerate(SCALE_WINDOWS):
        taps = gaussian_window_1d(size, size / 5.0)
        if scale > 0:
            refs = [filter2_valid(r, taps)[::2, ::2] for r in refs]
            dist = filter2_valid(dist, taps)[::2, ::2]
        mu2 = filter2_valid(dist, taps)
        sigma2_sq = filter2_valid(dist * dist, taps) - mu2 * mu2
        sigma2_sq[sigma2_sq < 0] = 0.0
        flat2 = sigma2_sq < EPS
        for i, ref in enumerate(refs):
            mu1 = filter2_valid(ref, taps)
            sigma1_sq = filter2_valid(ref * ref, taps) - mu1 * mu1
            sigma12 = filter2_valid(ref * dist, taps) - mu1 * mu2
            sigma1_sq[sigma1_sq < 0] = 0.0
            g = sigma12 / (sigma1_sq + EPS)
            sv_sq = sigma2_sq - g * sigma12
            flat1 = sigma1_sq < EPS
            g[flat1] = 0.0
            sv_sq[flat1] = sigma2_sq[flat1]
            sigma1_sq[flat1] = 0.0
            g[flat2] = 0.0
            sv_sq[flat2] = 0.0
            negative = g < 0
            sv_sq[negative] = sigma2_sq[negative]
            g[negative] = 0.0
            sv_sq[sv_sq <= EPS] = EPS
            num[i] += float(np.sum(np.log10(1.0 + g * g * sigma1_sq / (sv_sq + sigma_nsq))))
            den[i] += float(np.sum(np.log10(1.0 + sigma1_sq / sigma_nsq)))
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
