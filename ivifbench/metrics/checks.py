"""Argument checks of the pure metric functions (EI, CE, Qcb, Qcv, Nabf, VIFF): 2-D numeric
arrays of one shape and a minimum size, with messages naming the metric and the argument."""

from __future__ import annotations

import numpy as np


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
