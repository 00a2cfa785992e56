"""VIFF: Han et al.'s fusion metric based on visual information fidelity (Y. Han, Y. Cai, Y. Cao,
X. Xu, Information Fusion 14 (2013) 127-135), as in ``VIFF_Public.m``."""

from __future__ import annotations

import cv2
import numpy as np

from ivifbench.metrics._arrays import gray_images

#: Gaussian window sizes of the four scales (sigma = N / 5), MATLAB ``fspecial('gaussian')``.
WINDOW_SIZES = (17, 9, 5, 3)
#: Weights of the four scales.
SCALE_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15
#: Visual noise variance in squared 0-255 grey levels.
VISUAL_NOISE = 0.005 * 255 * 255
#: Added to every pixel term before the per-scale ratio.
RATIO_OFFSET = 1e-7
#: Variance floor of the VIF statistics.
VARIANCE_EPS = 1e-10


def _min_size() -> int:
    """Smallest side for which every scale keeps at least one 'valid' pixel."""
    side = WINDOW_SIZES[-1]
    for index in range(len(WINDOW_SIZES) - 2, -1, -1):
        # scale index+1 is ceil((side_here - N_{index+1} + 1) / 2) pixels wide
        side = max(WINDOW_SIZES[index], 2 * side - 1 + WINDOW_SIZES[index + 1] - 1)
    return side


#: Four scales of 'valid' Gaussian filtering and dyadic subsampling must fit (41x41).
MIN_SIZE = (_min_size(), _min_size())


def _gaussian_taps(size: int) -> np.ndarray:
    """1-D factor of ``fspecial('gaussian', size, size / 5)`` (normalised to sum 1)."""
    sigma = size / 5
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    taps = np.exp(-(x * x) / (2 * sigma * sigma))
    return taps / taps.sum()


def _filter_valid(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(win, image, 'valid')`` for the separable window outer(taps, taps)."""
    half = len(taps) // 2
    full = cv2.sepFilter2D(image, cv2.CV_64F, taps, taps, borderType=cv2.BORDER_REFLECT_101)
    return full[half:-half, half:-half]


def _source_terms(
    ref: np.ndarray, fused: np.ndarray, taps: np.ndarray, mu_f: np.ndarray, var_f: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel (gain g, source variance, distortion variance) of the Sheikh-Bovik model of one
    scale, with the thresholds of ``VIFF_Public.m`` (``var_f`` already clipped at 0)."""
    mu_r = _filter_valid(ref, taps)
    var_r = _filter_valid(ref * ref, taps)
    var_r -= mu_r * mu_r
    np.maximum(var_r, 0, out=var_r)
    cov = _filter_valid(ref * fused, taps)
    cov -= mu_r * mu_f
    gain = cov / (var_r + VARIANCE_EPS)
    noise = var_f - gain * cov
    flat_ref = var_r < VARIANCE_EPS
    flat_fused = var_f < VARIANCE_EPS
    negative = gain < 0
    # The reference zeroes g on flat windows first, so its g < 0 test only sees the others.
    noise = np.where(flat_ref | negative, var_f, noise)
    noise[flat_fused] = 0
    np.maximum(noise, VARIANCE_EPS, out=noise)
    gain[flat_ref | flat_fused | negative] = 0
    var_r[flat_ref] = 0
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
    f, a, b = gray_images("VIFF", MIN_SIZE, fused=fused, ir=ir, vis=vis)
    scores = np.empty(len(WINDOW_SIZES))
    for scale, size in enumerate(WINDOW_SIZES):
        taps = _gaussian_taps(size)
        if scale > 0:
            f, a, b = (_filter_valid(image, taps)[::2, ::2] for image in (f, a, b))
        mu_f = _filter_valid(f, taps)
        var_f = _filter_valid(f * f, taps)
        var_f -= mu_f * mu_f
        np.maximum(var_f, 0, out=var_f)
        gain_a, var_a, noise_a = _source_terms(a, f, taps, mu_f, var_f)
        gain_b, var_b, noise_b = _source_terms(b, f, taps, mu_f, var_f)
        take_a = gain_a < gain_b
        gain = np.where(take_a, gain_a, gain_b)
        var_s = np.where(take_a, var_a, var_b)
        noise = np.where(take_a, noise_a, noise_b)
        vid = np.log10(1 + gain**2 * var_s / (noise + VISUAL_NOISE))
        vind = np.log10(1 + var_s / VISUAL_NOISE)
        scores[scale] = np.sum(vid + RATIO_OFFSET) / np.sum(vind + RATIO_OFFSET)
    return float(np.sum(scores * SCALE_WEIGHTS))
