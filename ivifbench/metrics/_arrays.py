"""Input checks and small MATLAB-compatible array helpers shared by the metric modules."""

from __future__ import annotations

import numpy as np


def as_gray_float64(name: str, image: np.ndarray) -> np.ndarray:
    """Return ``image`` as a 2-D float64 array; raise ``ValueError`` if it is not a gray image."""
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D gray image, got an array of shape {arr.shape}")
    if arr.dtype.kind not in "uif":
        raise ValueError(f"{name}: expected a numeric image, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def gray_images(metric: str, min_size: tuple[int, int], **images: np.ndarray) -> list[np.ndarray]:
    """Check that ``images`` are 2-D, of one shape, at least ``min_size`` (rows, cols).

    Returns them as float64 arrays in the order given. Error messages name the metric and the
    offending argument.
    """
    arrays = [as_gray_float64(f"{metric}: {name}", img) for name, img in images.items()]
    names = list(images)
    shape = arrays[0].shape
    for name, arr in zip(names[1:], arrays[1:], strict=True):
        if arr.shape != shape:
            raise ValueError(
                f"{metric}: shape mismatch, {names[0]} is {shape} but {name} is {arr.shape}"
            )
    if shape[0] < min_size[0] or shape[1] < min_size[1]:
        raise ValueError(
            f"{metric}: images must be at least {min_size[0]}x{min_size[1]} pixels "
            f"(rows x cols), got {shape[0]}x{shape[1]}"
        )
    return arrays


def matlab_round(x: np.ndarray) -> np.ndarray:
    """MATLAB ``round``: halves away from zero (numpy's ``round`` goes to even)."""
    magnitude = np.abs(x)
    whole = np.floor(magnitude)
    whole += magnitude - whole >= 0.5  # the fractional part is exact, unlike floor(x + 0.5)
    return np.copysign(whole, x)


def minmax_stretch_255(image: np.ndarray) -> np.ndarray:
    """Z. Liu's ``normalize1``: ``round(255 (x - min) / (max - min))``, 0-255 grey levels.

    An all-zero image is returned unchanged; any other constant image becomes all NaN (0/0), as
    in the MATLAB code.
    """
    hi = image.max()
    lo = image.min()
    if hi == 0 and lo == 0:
        return image
    with np.errstate(invalid="ignore", divide="ignore"):
        return matlab_round((image - lo) / (hi - lo) * 255)


def freqspace_meshgrid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB ``freqspace([rows, cols], 'meshgrid')``: normalised frequencies, centred (fftshift
    order), ``(u, v)`` of shape (rows, cols) with u varying along columns and v along rows."""
    u = (np.arange(cols) - cols // 2) * (2.0 / cols)
    v = (np.arange(rows) - rows // 2) * (2.0 / rows)
    return np.meshgrid(u, v)
