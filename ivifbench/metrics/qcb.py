"""VIFB ``Qcb``: Chen-Blum perceptual fusion metric (Y. Chen, R. S. Blum, Image and Vision
Computing 27 (2009) 1421-1432), as in Z. Liu's ``metricChenBlum.m`` used by VIFB."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import scipy.fft

from ivifbench.metrics._arrays import freqspace_meshgrid, gray_images, minmax_stretch_255

#: The 31x31 local-contrast windows must fit in the image.
MIN_SIZE = (31, 31)

# DoG contrast sensitivity function (frequency scaled by image size / 30).
CSF_F0 = 15.3870
CSF_F1 = 1.3456
CSF_A = 0.7622
CSF_SIZE_DIVISOR = 30.0
# Local contrast: Gaussians of 31x31 taps (unnormalised), sigma 2 and 4.
CONTRAST_RADIUS = 15
CONTRAST_SIGMAS = (2.0, 4.0)
# Contrast masking: C^p / (C^q + Z).
MASK_P = 3
MASK_Q = 2
MASK_Z = 1e-4


def _dog_csf_half_spectrum(rows: int, cols: int) -> np.ndarray:
    """DoG CSF on the ``rfft2`` half spectrum (unshifted order), shape (rows, cols // 2 + 1)."""
    u, v = freqspace_meshgrid(rows, cols)
    u = u * (cols / CSF_SIZE_DIVISOR)
    v = v * (rows / CSF_SIZE_DIVISOR)
    r = np.sqrt(u**2 + v**2)
    csf = np.exp(-((r / CSF_F0) ** 2)) - CSF_A * np.exp(-((r / CSF_F1) ** 2))
    return np.fft.ifftshift(csf)[:, : cols // 2 + 1]


def _gaussian_taps(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Separable factors of exp(-(x^2 + y^2) / (2 sigma^2)) / (2 pi sigma^2), |x|, |y| <= 15."""
    x = np.arange(-CONTRAST_RADIUS, CONTRAST_RADIUS + 1, dtype=np.float64)
    taps = np.exp(-(x * x) / (2 * sigma * sigma))
    return taps / (2 * np.pi * sigma * sigma), taps


def _masked_contrast(csf_filtered: np.ndarray) -> np.ndarray:
    """Masked local contrast C^p / (C^q + Z), C = |G_2 * I / G_4 * I - 1| ('same', zero pad)."""
    blurred = [
        cv2.sepFilter2D(
            csf_filtered, cv2.CV_64F, *_gaussian_taps(s), borderType=cv2.BORDER_CONSTANT
        )
        for s in CONTRAST_SIGMAS
    ]
    contrast = np.abs(blurred[0] / blurred[1] - 1)
    return contrast**MASK_P / (contrast**MASK_Q + MASK_Z)


def _preservation(c_source: np.ndarray, c_fused: np.ndarray) -> np.ndarray:
    """min(Cs, Cf) / max(Cs, Cf), written as the MATLAB mask sum (0 * Inf gives NaN there too)."""
    mask = (c_source < c_fused).astype(np.float64)
    return (c_source / c_fused) * mask + (c_fused / c_source) * (1 - mask)


def qcb(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Chen-Blum quality, unitless, higher is better (about 0..1).

    Each image is min-max stretched to rounded 0-255 levels, filtered by the DoG CSF in the
    frequency domain, and its masked local contrast computed; the quality map is the saliency
    weighted (C_s^2 / sum C^2) contrast preservation min(C_s, C_f) / max(C_s, C_f); result is
    its mean. A constant nonzero image gives NaN (0/0 in the stretch, as in VIFB), with a
    ``RuntimeWarning``.
    """
    images = gray_images("Qcb", MIN_SIZE, fused=fused, ir=ir, vis=vis)
    rows, cols = images[0].shape
    csf = _dog_csf_half_spectrum(rows, cols)
    with np.errstate(all="ignore"):
        c_fused, c_ir, c_vis = (
            _masked_contrast(
                scipy.fft.irfft2(scipy.fft.rfft2(minmax_stretch_255(img)) * csf, s=(rows, cols))
            )
            for img in images
        )
        saliency_ir = c_ir * c_ir
        saliency_vis = c_vis * c_vis
        total = saliency_vis + saliency_ir
        quality = (saliency_vis / total) * _preservation(c_vis, c_fused) + (
            saliency_ir / total
        ) * _preservation(c_ir, c_fused)
        result = float(quality.mean())
    if np.isnan(result):
        warnings.warn(
            "Qcb is NaN: an input image is constant (zero range) or the contrast is 0/0",
            RuntimeWarning,
            stacklevel=2,
        )
    return result
