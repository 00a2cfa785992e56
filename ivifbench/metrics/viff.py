"""VIFF: Han et al.'s fusion metric based on visual information fidelity (Y. Han, Y. Cai, Y. Cao,
X. Xu, Information Fusion 14 (2013) 127-135), as in ``VIFF_Public.m``."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics._arrays import gray_images
from ivifbench.metrics.filtering import filter2_valid, gaussian_window_1d
from ivifbench.metrics.vif import EPS, MIN_SIDE, SCALE_WINDOWS

#: Weights of the four scales.
SCALE_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15
#: Visual noise variance in squared 0-255 grey levels.
VISUAL_NOISE = 0.005 * 255 * 255
#: Added to every pixel term before the per-scale ratio.
RATIO_OFFSET = 1e-7


def _source_terms(
    ref: np.ndarray,
    fused: np.ndarray,
    taps: np.ndarray,
    mu_f: np.ndarray,
    var_f: np.ndarray,
    flat_fused: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel (gain g, source variance, distortion variance) of the Sheikh-Bovik model of one
    scale, with the thresholds of ``VIFF_Public.m`` (``var_f`` already clipped at 0,
    ``flat_fused`` = ``var_f < 1e-10``)."""
    mu_r = filter2_valid(ref, taps)
    var_r = filter2_valid(ref * ref, taps)
    var_r -= mu_r * mu_r
    np.maximum(var_r, 0, out=var_r)
    cov = filter2_valid(ref * fused, taps)
    cov -= mu_r * mu_f
    gain = cov / (var_r + EPS)
    noise = gain * cov
    np.subtract(var_f, noise, out=noise)
    flat_ref = var_r < EPS
    # The reference zeroes g on flat windows first, so its g < 0 test only sees the others.
    reset = gain < 0
    reset |= flat_ref
    np.copyto(noise, var_f, where=reset)
    np.copyto(noise, 0.0, where=flat_fused)
    np.maximum(noise, EPS, out=noise)
    reset |= flat_fused
    np.copyto(gain, 0.0, where=reset)
    np.copyto(var_r, 0.0, where=flat_ref)
    return gain, var_r, noise


def viff(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Han's VIFF, unitless in [0, 1], higher is better.

    At each of four scales (Gaussian 'valid' windows 17, 9, 5, 3, dyadic subsampling), the VIF
    model of each source S against the fused image F gives per pixel a gain g, the source
    variance s^2 and the distortion variance v^2; per pixel the source with the smaller g is
    kept (VIS on ties, as the reference with IR first) and
    ``VID = log10(1 + g^2 s^2 / (v^2 + n))``, ``VIND = log10(1 + s^2 / n)`` with visual noise
    n = 0.005 * 255^2. Scale scores ``sum(VID + 1e-7) / sum(VIND + 1e-7)`` are weighted
    [1, 0, 0.15, 1] / 2.15. Inputs: 2-D arrays in 0-255 grey levels (n assumes that scale).
    """
    f, a, b = gray_images("VIFF", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    scores = np.empty(len(SCALE_WINDOWS))
    for scale, size in enumerate(SCALE_WINDOWS):
        taps = gaussian_window_1d(size, size / 5.0)
        if scale > 0:
            f, a, b = (filter2_valid(image, taps)[::2, ::2] for image in (f, a, b))
        mu_f = filter2_valid(f, taps)
        var_f = filter2_valid(f * f, taps)
        var_f -= mu_f * mu_f
        np.maximum(var_f, 0, out=var_f)
        flat_fused = var_f < EPS
        gain_a, var_a, noise_a = _source_terms(a, f, taps, mu_f, var_f, flat_fused)
        gain_b, var_b, noise_b = _source_terms(b, f, taps, mu_f, var_f, flat_fused)
        take_a = gain_a < gain_b
        gain = np.where(take_a, gain_a, gain_b)
        var_s = np.where(take_a, var_a, var_b)
        noise = np.where(take_a, noise_a, noise_b)
        vid = np.log10(1 + gain**2 * var_s / (noise + VISUAL_NOISE))
        vind = np.log10(1 + var_s / VISUAL_NOISE)
        scores[scale] = np.sum(vid + RATIO_OFFSET) / np.sum(vind + RATIO_OFFSET)
    return float(np.sum(scores * SCALE_WEIGHTS))
