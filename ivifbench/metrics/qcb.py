"""VIFB ``Qcb``: Chen-Blum perceptual fusion metric (Y. Chen, R. S. Blum, Image and Vision
Computing 27 (2009) 1421-1432), as in Z. Liu's ``metricChenBlum.m`` used by VIFB."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import scipy.fft

from ivifbench.metrics import kernels, vifb_kernels
from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.matlab_compat import half_spectrum_radius, minmax_stretch_255
from ivifbench.metrics.numerics import row_blocks

#: The 31x31 local-contrast windows must fit in the image.
MIN_SIDE = 31

# DoG contrast sensitivity function; the frequency grid is scaled by image size / 30.
CSF_F0 = 15.3870
CSF_F1 = 1.3456
CSF_A = 0.7622
CSF_SIZE_DIVISOR = 30
# Local contrast: unnormalised 31x31 Gaussians, sigma 2 (centre) and 4 (surround).
CONTRAST_RADIUS = 15
CONTRAST_SIGMAS = (2.0, 4.0)
# Contrast masking C^p / (C^q + Z) with p = 3, q = 2.
MASK_Z = 1e-4


@functools.lru_cache(maxsize=8)
def _dog_csf(rows: int, cols: int) -> np.ndarray:
    """DoG CSF on the ``rfft2`` half plane (read-only, cached per image size)."""
    r = half_spectrum_radius(rows, cols, rows / CSF_SIZE_DIVISOR, cols / CSF_SIZE_DIVISOR)
    csf = np.exp(-((r / CSF_F0) ** 2)) - CSF_A * np.exp(-((r / CSF_F1) ** 2))
    csf.setflags(write=False)
    return csf


@functools.lru_cache(maxsize=2)
def _gaussian_factors(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Separable factors of exp(-(x^2 + y^2) / (2 sigma^2)) / (2 pi sigma^2), |x|, |y| <= 15."""
    x = np.arange(-CONTRAST_RADIUS, CONTRAST_RADIUS + 1, dtype=np.float64)
    taps = np.exp(-(x * x) / (2 * sigma * sigma))
    return taps / (2 * np.pi * sigma * sigma), taps


def _centre_and_surround(image: np.ndarray, csf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """G_2 * I and G_4 * I for I the stretched image filtered by the CSF (MATLAB
    ``filter2(G, I, 'same')``: zero padding)."""
    spectrum = scipy.fft.rfft2(minmax_stretch_255(image))
    spectrum *= csf
    filtered = scipy.fft.irfft2(spectrum, s=image.shape)
    centre, surround = (
        cv2.sepFilter2D(filtered, cv2.CV_64F, *_gaussian_factors(s), borderType=cv2.BORDER_CONSTANT)
        for s in CONTRAST_SIGMAS
    )
    return centre, surround


def _masked_contrast(centre: np.ndarray, surround: np.ndarray) -> np.ndarray:
    """C^3 / (C^2 + Z) with the local contrast C = |centre / surround - 1|."""
    contrast = centre / surround
    contrast -= 1
    np.abs(contrast, out=contrast)
    squared = contrast * contrast
    masked = squared * contrast
    squared += MASK_Z
    masked /= squared
    return masked


def _quality_sum(
    fused: tuple[np.ndarray, np.ndarray],
    ir: tuple[np.ndarray, np.ndarray],
    vis: tuple[np.ndarray, np.ndarray],
) -> float:
    """Sum of the quality map over some pixels, from each image's (centre, surround)."""
    c_fused, c_ir, c_vis = (_masked_contrast(*pair) for pair in (fused, ir, vis))
    # VIFB writes the preservation min/max as a mask sum, NaN where a contrast is 0 or Inf.
    if any(c.min() == 0 or c.max() == np.inf for c in (c_fused, c_ir, c_vis)):
        return np.nan
    saliency_vis = c_vis * c_vis
    saliency_ir = c_ir * c_ir
    total = saliency_vis + saliency_ir
    quality = saliency_vis / total
    quality *= np.minimum(c_vis, c_fused) / np.maximum(c_vis, c_fused)
    saliency_ir /= total
    saliency_ir *= np.minimum(c_ir, c_fused) / np.maximum(c_ir, c_fused)
    quality += saliency_ir
    return float(quality.sum())


def _masked_contrast_compiled(image: np.ndarray, csf: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`_masked_contrast` of :func:`_centre_and_surround` by the compiled kernels,
    into ``out``."""
    stretched, _ = vifb_kernels.stretched(image, kernels.workspace("stretched", image.shape))
    filtered = vifb_kernels.csf_filtered(stretched, csf, kernels.workspace("filtered", image.shape))
    (norm_c, taps_c), (norm_s, taps_s) = (_gaussian_factors(s) for s in CONTRAST_SIGMAS)
    vifb_kernels.qcb_contrast(filtered, taps_c, norm_c, taps_s, norm_s, MASK_Z, out)
    return out


def _qcb_compiled(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray, csf: np.ndarray) -> float:
    """Mean quality by the compiled kernels; the sources' masked contrasts are made once
    per source image inside ``kernels.shared_sources()`` (else in reused buffers)."""
    shape = fused.shape
    contrasts = [_masked_contrast_compiled(fused, csf, kernels.workspace("qcb F", shape))]
    for name, source in (("qcb IR", ir), ("qcb VIS", vis)):

        def make(source: np.ndarray = source, name: str = name) -> np.ndarray:
            out = kernels.kept_array(name, shape)
            return _masked_contrast_compiled(source, csf, out)

        key = ("qcb contrast", kernels.array_key(source))
        contrasts.append(kernels.shared(key, (source,), make))
    total, ok = vifb_kernels.qcb_quality_sum(*contrasts)
    return total / fused.size if ok else np.nan


def qcb(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Chen-Blum quality, unitless, higher is better (about 0..1).

    Each image is min-max stretched to rounded 0-255 levels, filtered by the DoG CSF in the
    frequency domain, and its masked local contrast C computed; the quality map is the
    saliency-weighted (C_S^2 / (C_A^2 + C_B^2)) contrast preservation min(C_S, C_F) /
    max(C_S, C_F) over both sources; the result is its mean. A constant nonzero image (0/0 in
    the stretch) or a zero or infinite contrast anywhere (0 * Inf in VIFB's ratio) gives NaN,
    as VIFB does (``compute`` warns about it).
    """
    images = gray_images("Qcb", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    rows, cols = images[0].shape
    csf = _dog_csf(rows, cols)
    with np.errstate(all="ignore"):
        if kernels.active():
            return _qcb_compiled(*images, csf)
        blurred = [_centre_and_surround(image, csf) for image in images]
        total = 0.0
        for block in row_blocks(rows):
            total += _quality_sum(*((c[block], s[block]) for c, s in blurred))
    return total / (rows * cols)
