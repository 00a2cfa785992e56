"""VIFB ``Qcv``: Chen-Varshney human-perception fusion metric (H. Chen, P. K. Varshney,
Information Fusion 8 (2007) 193-207), as in Z. Liu's ``metricChen.m`` used by VIFB."""

from __future__ import annotations

import warnings

import cv2
import numpy as np
import scipy.fft

from ivifbench.metrics._arrays import freqspace_meshgrid, gray_images, minmax_stretch_255

#: Saliency and distortion are pooled over 16x16 blocks; one full block must fit.
BLOCK = 16
MIN_SIZE = (BLOCK, BLOCK)
#: Exponent of the edge strength in the block saliency sum(g^alpha).
SALIENCY_ALPHA = 5
#: The CSF frequency grid is scaled by image size / 8.
CSF_SIZE_DIVISOR = 8.0

_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _sobel_magnitude(image: np.ndarray) -> np.ndarray:
    """sqrt(gx^2 + gy^2), MATLAB ``filter2(sobel, I, 'same')`` (correlation, zero padding)."""
    gx = cv2.filter2D(image, cv2.CV_64F, _SOBEL_X, borderType=cv2.BORDER_CONSTANT)
    gy = cv2.filter2D(image, cv2.CV_64F, _SOBEL_X.T, borderType=cv2.BORDER_CONSTANT)
    return np.sqrt(gx * gx + gy * gy)


def _block_sums(values: np.ndarray) -> np.ndarray:
    """Sum over 16x16 blocks, zero padding at bottom/right (MATLAB ``blkproc``)."""
    rows, cols = values.shape
    brows, bcols = -(-rows // BLOCK), -(-cols // BLOCK)
    padded = np.zeros((brows * BLOCK, bcols * BLOCK))
    padded[:rows, :cols] = values
    return padded.reshape(brows, BLOCK, bcols, BLOCK).sum(axis=(1, 3))


def _mannos_sakrison_half_spectrum(rows: int, cols: int) -> np.ndarray:
    """Mannos-Sakrison CSF 2.6 (0.0192 + 0.144 r) exp(-(0.144 r)^1.1) on the rfft2 half plane."""
    u, v = freqspace_meshgrid(rows, cols)
    u = (cols / CSF_SIZE_DIVISOR) * u
    v = (rows / CSF_SIZE_DIVISOR) * v
    r = np.sqrt(u**2 + v**2)
    csf = 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))
    return np.fft.ifftshift(csf)[:, : cols // 2 + 1]


def qcv(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Chen-Varshney quality in squared grey levels (0-255 scale); lower is better.

    Images are min-max stretched to rounded 0-255 levels. Block saliency ``l_S = sum g_S^5``
    (Sobel magnitude of the source); block distortion ``D_S = mean((CSF * (S - F))^2)`` with the
    Mannos-Sakrison CSF applied in the frequency domain; result
    ``sum(l_A D_A + l_B D_B) / sum(l_A + l_B)`` over the 16x16 blocks (partial blocks at the
    bottom/right are zero padded and still divided by 256, as MATLAB ``blkproc``). The MATLAB
    result carries FFT round-off as an imaginary part (|imag| ~ 1e-13); this is its real part.
    A constant nonzero image gives NaN with a ``RuntimeWarning``, as VIFB gives NaN.
    """
    f, a, b = gray_images("Qcv", MIN_SIZE, fused=fused, ir=ir, vis=vis)
    rows, cols = f.shape
    csf = _mannos_sakrison_half_spectrum(rows, cols)
    with np.errstate(all="ignore"):
        f, a, b = (minmax_stretch_255(img) for img in (f, a, b))
        numerator = 0.0
        denominator = 0.0
        for source in (b, a):
            saliency = _block_sums(_sobel_magnitude(source) ** SALIENCY_ALPHA)
            filtered = scipy.fft.irfft2(scipy.fft.rfft2(source - f) * csf, s=(rows, cols))
            distortion = _block_sums(filtered * filtered) / (BLOCK * BLOCK)
            numerator = numerator + saliency * distortion
            denominator = denominator + saliency
        result = float(numerator.sum() / denominator.sum())
    if np.isnan(result):
        warnings.warn(
            "Qcv is NaN: an input image is constant (zero range)", RuntimeWarning, stacklevel=2
        )
    return result
