"""Fast float64 building blocks shared by the metrics: MATLAB-style windows, 'valid' filtering,
Sobel responses, box sums and integer grey-level codes.

Every function takes and returns float64 arrays in the caller's units; nothing here rescales.
"""

from __future__ import annotations

import cv2
import numpy as np


def gaussian_window_1d(size: int, sigma: float) -> np.ndarray:
    """1-D factor of MATLAB ``fspecial('gaussian', size, sigma)``, normalised to sum 1.

    ``fspecial`` zeroes taps below ``eps * max``; that never happens for the windows used here
    (checked), so the 2-D window is exactly the outer product of this factor with itself.
    """
    radius = (size - 1) / 2.0
    x = np.arange(-radius, radius + 1.0)
    taps = np.exp(-(x * x) / (2.0 * sigma * sigma))
    if taps[0] * taps[0] < np.finfo(np.float64).eps:
        raise ValueError(f"gaussian window {size}/{sigma}: fspecial would truncate it")
    return taps / taps.sum()


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


def grey_codes(image: np.ndarray, name: str) -> np.ndarray:
    """Integer grey levels 0..255 of an integer-valued image, as ``uint8`` codes.

    Raises ``ValueError`` naming ``name`` when values are not integers in 0..255 (a value out
    of range or with a fraction does not survive the cast): the histogram metrics are defined
    on 8-bit data only.
    """
    codes = image.astype(np.uint8)
    if not np.array_equal(codes, image):
        raise ValueError(f"{name}: expected integer grey levels 0-255 (8-bit data)")
    return codes


#: Rows of factors multiplied together before one logarithm in :func:`sum_log10`.
LOG_GROUP = 32


def sum_log10(factors: np.ndarray, columns: slice = slice(None)) -> float:
    """sum(log10(factors[:, columns])) over a 2-D array of positive factors: the product of
    each group of LOG_GROUP rows (column by column), then one log10 per product (about 30x
    fewer logarithms; the same sum to ~1e-15 relative). Falls back to per-factor logarithms
    if a product leaves the normal float64 range."""
    rows, cols = factors.shape
    whole = rows - rows % LOG_GROUP
    with np.errstate(over="ignore", under="ignore"):  # checked below
        products = [np.prod(factors[:whole].reshape(-1, LOG_GROUP, cols), axis=1)[:, columns]]
        if whole < rows:
            products.append(np.prod(factors[whole:], axis=0)[columns])
    product = np.concatenate(products, axis=None)
    if not np.all((product >= np.finfo(np.float64).tiny) & (product < np.inf)):
        return float(np.sum(np.log10(factors[:, columns])))
    return float(np.sum(np.log10(product)))


def sum_of_products(x: np.ndarray, y: np.ndarray) -> float:
    """sum(x * y) without a temporary and without BLAS (whose threads stall on busy machines)."""
    return float(np.einsum("ij,ij->", x, y) if x.ndim == 2 else np.einsum("i,i->", x, y))


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round`` (halves away from zero) for non-negative ``x``, exact at halves."""
    whole = np.floor(x)
    return whole + (x - whole >= 0.5)


#: Output rows per band. Metrics run band by band (each band filters its rows plus the
#: window's halo) so that the intermediate arrays stay in cache: about 1.3-1.5x faster than
#: whole 640 x 480 images, although the halo rows are filtered twice.
BAND_ROWS = 64


def row_blocks(rows: int, block: int = BAND_ROWS) -> list[slice]:
    """Consecutive row slices of at most ``block`` rows covering ``range(rows)``."""
    return [slice(start, min(start + block, rows)) for start in range(0, rows, block)]


def valid_bands(rows: int, window: int, block: int = BAND_ROWS) -> list[tuple[slice, slice]]:
    """(input rows, output rows) of each band of a 'valid' filter with a ``window``-row window.

    Output rows are indices into the 'valid' result (``rows - window + 1`` rows); the input
    rows of a band are its output rows plus the ``window - 1`` rows below.
    """
    return [
        (slice(band.start, band.stop + window - 1), band)
        for band in row_blocks(rows - window + 1, block)
    ]


def sobel_conv2_same_rows(image: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sobel_conv2_same` of ``image``, for output ``rows`` only (zero padding outside
    the image, as for the whole image)."""
    grad_x, grad_y = sobel_rows(image, rows, cv2.BORDER_CONSTANT)
    return np.negative(grad_x, out=grad_x), grad_y


def sobel_rows(
    image: np.ndarray, rows: slice, border: int, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV 3x3 Sobel ``(d/dx, d/dy)`` of ``image`` times ``scale``, for output ``rows`` only.

    Filtered from those rows plus one halo row on each side, so the values equal those of the
    whole image with the OpenCV ``border`` rule (e.g. ``cv2.BORDER_REPLICATE``) at its edges.
    """
    top = max(rows.start - 1, 0)
    band = image[top : min(rows.stop + 1, image.shape[0])]
    keep = slice(rows.start - top, rows.stop - top)
    grad_x, grad_y = (
        cv2.Sobel(band, cv2.CV_64F, dx, 1 - dx, ksize=3, scale=scale, borderType=border)[keep]
        for dx in (1, 0)
    )
    return grad_x, grad_y
