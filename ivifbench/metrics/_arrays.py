"""Input checks of the pure metric functions, and the MATLAB helpers of Z. Liu's perceptual
metrics (Qcb, Qcv): ``normalize1`` and ``freqspace`` grids."""

from __future__ import annotations

import numpy as np

from ivifbench.metrics.filtering import matlab_round, row_blocks


def check_shapes(metric: str, min_side: int, **images: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``images`` are 2-D numeric arrays of one shape, at least
    ``min_side`` pixels high and wide. Messages name the metric and the offending argument."""
    names = list(images)
    shapes = {}
    for name, image in images.items():
        arr = np.asarray(image)
        if arr.ndim != 2:
            raise ValueError(
                f"{metric}: {name} must be a 2-D gray image, got an array of shape {arr.shape}"
            )
        if arr.dtype.kind not in "uif":
            raise ValueError(f"{metric}: {name} must be numeric, got dtype {arr.dtype}")
        shapes[name] = arr.shape
    shape = shapes[names[0]]
    for name in names[1:]:
        if shapes[name] != shape:
            raise ValueError(
                f"{metric}: shape mismatch, {names[0]} is {shape} but {name} is {shapes[name]}"
            )
    if min(shape) < min_side:
        raise ValueError(
            f"{metric}: images must be at least {min_side}x{min_side} pixels, "
            f"got {shape[0]}x{shape[1]} (height x width)"
        )


def gray_images(metric: str, min_side: int, **images: np.ndarray) -> list[np.ndarray]:
    """:func:`check_shapes`, then the images as C-contiguous float64 arrays, in the order given."""
    check_shapes(metric, min_side, **images)
    return [np.ascontiguousarray(image, dtype=np.float64) for image in images.values()]


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
