"""VIFB ``Qcv``: Chen-Varshney human-perception fusion metric (H. Chen, P. K. Varshney,
Information Fusion 8 (2007) 193-207), as in Z. Liu's ``metricChen.m`` used by VIFB."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import scipy.fft

from ivifbench.metrics import kernels, vifb_kernels
from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.matlab_compat import half_spectrum_radius, minmax_stretch_255
from ivifbench.metrics.numerics import row_blocks, sobel_rows

#: Saliency and distortion are pooled over 16x16 blocks; one full block must fit.
BLOCK = 16
MIN_SIDE = BLOCK
#: Block rows per band of the saliency computation.
BAND_BLOCKS = 4
#: Exponent of the edge strength in the block saliency sum(g^alpha).
SALIENCY_ALPHA = 5
#: The CSF frequency grid is scaled by image size / 8.
CSF_SIZE_DIVISOR = 8


@functools.lru_cache(maxsize=8)
def _mannos_sakrison_csf(rows: int, cols: int) -> np.ndarray:
    """2.6 (0.0192 + 0.144 r) exp(-(0.144 r)^1.1) on the ``rfft2`` half plane (read-only,
    cached per image size)."""
    r = half_spectrum_radius(rows, cols, rows / CSF_SIZE_DIVISOR, cols / CSF_SIZE_DIVISOR)
    csf = 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))
    csf.setflags(write=False)
    return csf


def _block_sums(values: np.ndarray) -> np.ndarray:
    """Sum over 16x16 blocks, zero padding at bottom/right (MATLAB ``blkproc``)."""
    rows, cols = values.shape
    brows, bcols = -(-rows // BLOCK), -(-cols // BLOCK)
    if (rows, cols) != (brows * BLOCK, bcols * BLOCK):
        padded = np.zeros((brows * BLOCK, bcols * BLOCK))
        padded[:rows, :cols] = values
        values = padded
    return (
        values.reshape(brows, BLOCK, bcols * BLOCK)
        .sum(axis=1)
        .reshape(brows, bcols, BLOCK)
        .sum(axis=2)
    )


def _block_saliency(source: np.ndarray) -> np.ndarray:
    """sum(g^5) per block, g = Sobel magnitude by ``filter2(.., 'same')`` (zero padding);
    computed in bands of whole block rows to keep the intermediates in cache."""
    bands = []
    for rows in row_blocks(source.shape[0], BAND_BLOCKS * BLOCK):
        magnitude = cv2.magnitude(*sobel_rows(source, rows, cv2.BORDER_CONSTANT))
        bands.append(_block_sums(np.power(magnitude, SALIENCY_ALPHA, out=magnitude)))
    return np.concatenate(bands)


def _block_distortion(source: np.ndarray, fused: np.ndarray, csf: np.ndarray) -> np.ndarray:
    """mean((CSF * (S - F))^2) per block, divided by 256 also for partial blocks."""
    spectrum = scipy.fft.rfft2(source - fused)
    spectrum *= csf
    filtered = scipy.fft.irfft2(spectrum, s=source.shape)
    return _block_sums(np.square(filtered, out=filtered)) / (BLOCK * BLOCK)


def _source_work(source: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(stretched source, its block saliency) by the compiled kernels (the stretched image in
    this thread's buffer ``name`` outside a ``kernels.shared_sources()`` block)."""
    out = kernels.kept_array(name, source.shape)
    stretched, _ = vifb_kernels.stretched(source, out)
    return stretched, vifb_kernels.block_saliency(stretched, BLOCK, SALIENCY_ALPHA)


@functools.lru_cache(maxsize=8)
def _mannos_sakrison_csf_full(rows: int, cols: int) -> np.ndarray:
    """:func:`_mannos_sakrison_csf` on the whole ``fft2`` plane (read-only, cached)."""
    csf = vifb_kernels.full_plane(_mannos_sakrison_csf(rows, cols), cols)
    csf.setflags(write=False)
    return csf


def _qcv_compiled(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """:func:`qcv` by the compiled kernels: both differences S - F filtered by one complex
    transform pair (VIS - F real, IR - F imaginary); the sources' stretch and saliency are
    made once per source image inside ``kernels.shared_sources()``."""
    shape = fused.shape
    f, _ = vifb_kernels.stretched(fused, kernels.workspace("stretched", shape))
    (s_vis, saliency_vis), (s_ir, saliency_ir) = (
        kernels.shared(
            ("qcv source", kernels.array_key(source)),
            (source,),
            lambda s=source, n=name: _source_work(s, n),
        )
        for name, source in (("qcv VIS", vis), ("qcv IR", ir))
    )
    pair = kernels.workspace("qcv differences", shape, np.complex128)
    vifb_kernels.pack_differences(s_vis, s_ir, f, pair)
    vifb_kernels.csf_filtered_pair(pair, _mannos_sakrison_csf_full(*shape))
    distortion_vis, distortion_ir = vifb_kernels.block_mean_squares_pair(pair, BLOCK)
    weighted = float(np.sum(saliency_vis * distortion_vis))
    weighted += float(np.sum(saliency_ir * distortion_ir))
    saliency_total = float(np.sum(saliency_vis)) + float(np.sum(saliency_ir))
    return float(np.float64(weighted) / saliency_total)  # 0/0 (all-zero sources): NaN


def qcv(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Chen-Varshney quality in squared grey levels (0-255 scale); lower is better.

    Images are min-max stretched to rounded 0-255 levels. Block saliency ``l_S = sum g_S^5``
    (Sobel magnitude of the source); block distortion ``D_S = mean((CSF * (S - F))^2)`` with the
    Mannos-Sakrison CSF applied in the frequency domain; result
    ``sum(l_A D_A + l_B D_B) / sum(l_A + l_B)`` over the 16x16 blocks (partial blocks at the
    bottom/right are zero padded and still divided by 256, as MATLAB ``blkproc``). The MATLAB
    result carries FFT round-off as an imaginary part (|imag| ~ 1e-13); this is its real part.
    A constant nonzero image gives NaN, as VIFB does (``compute`` warns about it).
    """
    images = gray_images("Qcv", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    with np.errstate(all="ignore"):
        if kernels.active():
            return _qcv_compiled(*images)
        csf = _mannos_sakrison_csf(*images[0].shape)
        f, a, b = (minmax_stretch_255(image) for image in images)
        saliency_vis, saliency_ir = _block_saliency(b), _block_saliency(a)
        weighted = saliency_vis * _block_distortion(b, f, csf)
        weighted += saliency_ir * _block_distortion(a, f, csf)
        result = float(weighted.sum() / (saliency_vis + saliency_ir).sum())
    return result
