"""VIFF: Han et al.'s fusion metric based on visual information fidelity (Y. Han, Y. Cai, Y. Cao,
X. Xu, Information Fusion 14 (2013) 127-135), as in ``VIFF_Public.m``."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics import kernels
from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.matlab_compat import (
    filter2_valid,
    filter2_valid_subsampled,
    gaussian_window_1d,
)
from ivifbench.metrics.numerics import valid_bands
from ivifbench.metrics.vif import (
    EPS,
    MIN_SIDE,
    SCALE_WINDOWS,
    compiled_scales,
    local_variance,
    source_gains,
)

#: Weights of the four scales.
SCALE_WEIGHTS = np.array([1.0, 0.0, 0.15, 1.0]) / 2.15
#: Visual noise variance in squared 0-255 grey levels.
VISUAL_NOISE = 0.005 * 255 * 255
#: Added to every pixel term before the per-scale ratio.
RATIO_OFFSET = 1e-7


def _selected_information(
    mu_f: np.ndarray, e_ff: np.ndarray, sources: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[float, float]:
    """sum(VID + C) and sum(VIND + C) over some pixels (a band) of one scale, each pixel from
    the source with the smaller gain (the second source on ties, as ``VIFF_Public.m``)."""
    var_f = local_variance(mu_f, e_ff)
    (gain, var_s, noise), (gain_b, var_b, noise_b) = (
        source_gains(mu_s, e_ss, e_sf, mu_f, var_f) for mu_s, e_ss, e_sf in sources
    )
    take_b = ~(gain < gain_b)
    np.copyto(gain, gain_b, where=take_b)
    np.copyto(var_s, var_b, where=take_b)
    np.copyto(noise, noise_b, where=take_b)
    vid = gain * gain
    vid *= var_s
    noise += VISUAL_NOISE
    vid /= noise
    vid += 1.0
    np.log10(vid, out=vid)
    vid += RATIO_OFFSET
    var_s /= VISUAL_NOISE
    var_s += 1.0
    vind = np.log10(var_s, out=var_s)
    vind += RATIO_OFFSET
    return float(vid.sum()), float(vind.sum())


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
    scores = _scale_scores_compiled(f, a, b) if kernels.active() else None
    if scores is None:
        scores = _scale_scores(f, a, b)
    return float(np.sum(scores * SCALE_WEIGHTS))


def _scale_scores_compiled(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The four scale scores by the compiled kernel; ``None`` if a product overflowed. The
    per-pixel 1e-7 offsets are added as (number of pixels) x 1e-7."""
    scores = np.empty(len(SCALE_WINDOWS))
    for scale, f_s, a_s, b_s, taps, sources, mode in compiled_scales(a, b, f):
        vid, vind, pixels, overflow = kernels.viff_scale_sums(
            f_s, a_s, b_s, taps, VISUAL_NOISE, EPS, sources, mode
        )
        if overflow:
            return None
        offset = pixels * RATIO_OFFSET
        scores[scale] = (vid + offset) / (vind + offset)
    return scores


def _scale_scores(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The four scale scores sum(VID + C) / sum(VIND + C): the numpy reference."""
    scores = np.empty(len(SCALE_WINDOWS))
    for scale, size in enumerate(SCALE_WINDOWS):
        taps = gaussian_window_1d(size, size / 5.0)
        if scale > 0:
            f, a, b = (filter2_valid_subsampled(image, taps) for image in (f, a, b))
        # Bands of output rows, each filtered from its rows plus the window's halo, keep the
        # intermediates in cache.
        vid = vind = 0.0
        for rows, _ in valid_bands(f.shape[0], size):
            fb = f[rows]
            sources = [
                (filter2_valid(s, taps), filter2_valid(s * s, taps), filter2_valid(s * fb, taps))
                for s in (a[rows], b[rows])
            ]
            vid_band, vind_band = _selected_information(
                filter2_valid(fb, taps), filter2_valid(fb * fb, taps), sources
            )
            vid += vid_band
            vind += vind_band
        scores[scale] = vid / vind
    return scores
