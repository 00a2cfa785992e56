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


def _vif_maps(
    mu_ref: np.ndarray,
    ref_sq: np.ndarray,
    ref_dist: np.ndarray,
    mu_dist: np.ndarray,
    var_dist: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel (VID, VIND, gain g) of one scale from local moments (Sheikh-Bovik model)."""
    var_ref = ref_sq - mu_ref * mu_ref
    cov = ref_dist - mu_ref * mu_dist
    var_ref[var_ref < 0] = 0
    gain = cov / (var_ref + VARIANCE_EPS)
    noise = var_dist - gain * cov
    flat_ref = var_ref < VARIANCE_EPS
    gain[flat_ref] = 0
    noise[flat_ref] = var_dist[flat_ref]
    var_ref[flat_ref] = 0
    flat_dist = var_dist < VARIANCE_EPS
    gain[flat_dist] = 0
    noise[flat_dist] = 0
    negative = gain < 0
    noise[negative] = var_dist[negative]
    gain[negative] = 0
    noise[noise <= VARIANCE_EPS] = VARIANCE_EPS
    vid = np.log10(1 + gain**2 * var_ref / (noise + VISUAL_NOISE))
    vind = np.log10(1 + var_ref / VISUAL_NOISE)
    return vid, vind, gain


def viff(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Han's VIFF, unitless in [0, 1], higher is better.

    At each of four scales (Gaussian 'valid' windows 17, 9, 5, 3, dyadic subsampling), the VIF
    model of each source S against the fused image gives per-pixel VID, VIND and gain g; per
    pixel the source with the smaller g (IR on ties goes to VIS, as the reference) is kept and
    the scale scores ``sum(VID + 1e-7) / sum(VIND + 1e-7)`` are weighted [1, 0, 0.15, 1] / 2.15.
    Inputs: 2-D arrays in 0-255 grey levels (the visual noise 0.005 * 255^2 assumes that scale).
    """
    f, a, b = gray_images("VIFF", MIN_SIZE, fused=fused, ir=ir, vis=vis)
    scores = np.empty(len(WINDOW_SIZES))
    for scale, size in enumerate(WINDOW_SIZES):
        taps = _gaussian_taps(size)
        if scale > 0:
            f, a, b = (_filter_valid(img, taps)[::2, ::2] for img in (f, a, b))
        mu_f = _filter_valid(f, taps)
        var_f = _filter_valid(f * f, taps) - mu_f * mu_f
        var_f[var_f < 0] = 0
        per_source = [
            _vif_maps(
                _filter_valid(src, taps),
                _filter_valid(src * src, taps),
                _filter_valid(src * f, taps),
                mu_f,
                var_f,
            )
            for src in (a, b)
        ]
        (vid_a, vind_a, gain_a), (vid_b, vind_b, gain_b) = per_source
        take_a = gain_a < gain_b
        vid = np.where(take_a, vid_a, vid_b)
        vind = np.where(take_a, vind_a, vind_b)
        scores[scale] = np.sum(vid + RATIO_OFFSET) / np.sum(vind + RATIO_OFFSET)
    return float(np.sum(scores * SCALE_WEIGHTS))
