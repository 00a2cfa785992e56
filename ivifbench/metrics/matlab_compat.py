"""MATLAB / Octave behaviour that the reference toolboxes rely on, reproduced exactly.

One module, as pyiqa keeps its ``matlab_utils``: ``fspecial('gaussian')`` windows, ``filter2`` /
``imfilter`` in 'valid' mode (whole image, bands of rows, subsampled), box means, ``conv2``
'same' Sobel responses, ``round`` (halves away from zero), Z. Liu's ``normalize1`` and the
``freqspace`` grid of his CSF filters (VIFB's Qcb and Qcv, the Liu toolbox metrics), and
Octave's ``rgb2gray``. Every function takes and returns float64 arrays in the caller's units
unless it says otherwise; nothing here rescales silently.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from ivifbench.metrics.numerics import BAND_ROWS, row_blocks, sobel_rows


@functools.lru_cache(maxsize=64)
def gaussian_window_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB ``fspecial('gaussian', size, sigma)``, normalised to sum 1
    (read-only: one array per window, made once).

    ``fspecial`` zeroes taps below ``eps * max``; that never happens for the windows used here
    (checked), so the 2-D window is exactly the outer product of this factor with itself.
    """
    radius = (size - 1) / 2.0
    x = np.arange(-radius, radius + 1.0)
    taps = np.exp(-(x * x) / (2.0 * sigma * sigma))
    if taps[0] * taps[0] < np.finfo(np.float64).eps:
        raise ValueError(f"gaussian window {size}/{sigma}: fspecial would truncate it")
    taps /= taps.sum()
    taps.setflags(write=False)
    return taps


def filter2_valid(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(w, image, 'valid')`` for the separable window ``w = taps' * taps``.

    Output shape is (H - n + 1, W - n + 1) for ``n = len(taps)``; the taps are symmetric, so
    correlation and convolution agree.
    """
    radius = taps.size // 2
    return filter2_valid_rows(image, taps)[:, radius : image.shape[1] - radius]


def filter2_valid_rows(
    image: np.ndarray, taps: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """:func:`filter2_valid` with whole rows: shape (H - n + 1, W), C-contiguous (numpy is
    2-4x faster on contiguous arrays than on column slices). Only columns
    ``radius .. W - radius - 1`` (``radius = n // 2``) are 'valid'; the others hold
    zero-padded values, finite for finite input. ``out``: optional C-contiguous float64
    buffer of ``image``'s shape to filter into (reused buffers stay in cache); the result is
    a view of it.
    """
    radius = taps.size // 2
    kernel = taps.reshape(-1, 1)
    out = cv2.sepFilter2D(
        image, cv2.CV_64F, kernel, kernel, dst=out, borderType=cv2.BORDER_CONSTANT
    )
    return out[radius : image.shape[0] - radius]


def filter2_valid_subsampled(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """``filter2_valid(image, taps)[::2, ::2]`` as a new C-contiguous array (the next VIF
    scale), filtered in bands of rows through one reused buffer (no full-size temporary)."""
    size = taps.size
    radius = size // 2
    height, width = image.shape
    valid_rows = height - size + 1
    out = np.empty(((valid_rows + 1) // 2, (width - size + 2) // 2))
    buffer = np.empty((min(BAND_ROWS + size - 1, height), width))
    for band in row_blocks(valid_rows):  # BAND_ROWS is even: every band starts on an even row
        rows_in = slice(band.start, band.stop + size - 1)
        filtered = filter2_valid_rows(image[rows_in], taps, buffer[: rows_in.stop - band.start])
        out[band.start // 2 : (band.stop + 1) // 2] = filtered[::2, radius : width - radius : 2]
    return out


def box_mean_valid(image: np.ndarray, size: int) -> np.ndarray:
    """Mean over every ``size x size`` window that lies inside ``image`` ('valid' positions)."""
    radius = size // 2
    return box_mean_valid_rows(image, size)[:, radius : image.shape[1] - radius]


def box_mean_valid_rows(image: np.ndarray, size: int, out: np.ndarray | None = None) -> np.ndarray:
    """:func:`box_mean_valid` with whole rows, as :func:`filter2_valid_rows` (only columns
    ``size // 2 .. W - size // 2 - 1`` are 'valid'; ``out``: optional buffer)."""
    out = cv2.boxFilter(
        image,
        cv2.CV_64F,
        (size, size),
        dst=out,
        normalize=True,
        borderType=cv2.BORDER_CONSTANT,
    )
    return out[size // 2 : image.shape[0] - size // 2]


def sobel_conv2_same(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(sx, sy)`` = MATLAB ``conv2(image, h3, 'same')``, ``conv2(image, h1, 'same')``.

    ``h3 = [-1 0 1; -2 0 2; -1 0 1]`` and ``h1 = [1 2 1; 0 0 0; -1 -2 -1]``, zero padding: ``sx`` is
    left column minus right column, ``sy`` bottom row minus top row (OpenCV's Sobel computes the
    opposite sign for x). Exact on integer-valued data.
    """
    return sobel_conv2_same_rows(image, slice(0, image.shape[0]))


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round`` (halves away from zero) for non-negative ``x``, exact at halves."""
    whole = np.floor(x)
    return whole + (x - whole >= 0.5)


def sobel_conv2_same_rows(image: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sobel_conv2_same` of ``image``, for output ``rows`` only (zero padding outside
    the image, as for the whole image)."""
    grad_x, grad_y = sobel_rows(image, rows, cv2.BORDER_CONSTANT)
    return np.negative(grad_x, out=grad_x), grad_y


def minmax_stretch_255(image: np.ndarray) -> np.ndarray:
    """Z. Liu's ``normalize1``: ``round((x - min) / (max - min) * 255)``, 0-255 grey levels.

    An all-zero image is returned unchanged; any other constant image becomes all NaN (0/0), as
    in the MATLAB code.
    """
    hi = image.max()
    lo = image.min()
    if hi == 0 and lo == 0:
        return image
    stretched = np.empty_like(image)
    with np.errstate(invalid="ignore", divide="ignore"):
        for rows in row_blocks(image.shape[0]):  # cache-sized blocks
            block = np.subtract(image[rows], lo, out=stretched[rows])
            block /= hi - lo
            block *= 255
            stretched[rows] = matlab_round(block)
    return stretched


def centred_frequencies(size: int) -> np.ndarray:
    """One axis of MATLAB ``freqspace``: ``((0:n-1) - floor(n/2)) * (2/n)``, fftshift order."""
    return (np.arange(size) - size // 2) * (2.0 / size)


def half_spectrum_radius(rows: int, cols: int, rows_scale: float, cols_scale: float) -> np.ndarray:
    """Radial frequency sqrt(u^2 + v^2) on the ``rfft2`` half plane, unshifted order.

    u = ``cols_scale`` * freqspace along columns, v = ``rows_scale`` * freqspace along rows; the
    values equal ``ifftshift`` of the MATLAB ``freqspace(..., 'meshgrid')`` grid, columns
    ``0 .. cols // 2``.
    """
    u = np.fft.ifftshift(cols_scale * centred_frequencies(cols))[: cols // 2 + 1]
    v = np.fft.ifftshift(rows_scale * centred_frequencies(rows))
    return np.sqrt(u[np.newaxis, :] ** 2 + v[:, np.newaxis] ** 2)


#: Octave 7.3 / MATLAB ``rgb2gray`` luminance weights (R, G, B).
OCTAVE_RGB2GRAY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def gray_octave(rgb: np.ndarray) -> np.ndarray:
    """Octave ``rgb2gray`` on uint8: weighted sum in float64, rounded (halves away from zero)
    back to uint8 (0-255). Used by the ``tang`` convention."""
    rgb = rgb.astype(np.float64)
    wr, wg, wb = OCTAVE_RGB2GRAY_WEIGHTS
    gray = rgb[..., 0] * wr + rgb[..., 1] * wg + rgb[..., 2] * wb
    return np.clip(matlab_round(gray), 0, 255).astype(np.uint8)
