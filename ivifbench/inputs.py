"""Load and check the three images of a fusion triple for the metric API.

Accepted: a file path (decoded by :func:`ivifdata.imageio.read_image`) or a numpy array, either
``uint8`` ``(H, W)`` gray or ``(H, W, 3)`` RGB (``(H, W, 1)`` is taken as gray). Rejected with
:class:`MetricInputError` naming the file or argument: 16-bit and float data (the reference
toolboxes read 8-bit images; convert first, e.g. ``read_image(path, to_8bit=True)`` or
``np.clip(np.round(x), 0, 255).astype(np.uint8)``), other dtypes or channel counts, empty
images, and images of different height x width.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ivifbench.errors import MetricInputError
from ivifdata.imageio import ImageReadError, read_image

ROLES = ("fused", "ir", "vis")


@dataclass(frozen=True)
class Image:
    """One checked image: uint8 ``(H, W)`` or ``(H, W, 3)`` RGB, and a label for messages."""

    pixels: np.ndarray
    label: str

    @property
    def is_colour(self) -> bool:
        return self.pixels.ndim == 3

    @property
    def size(self) -> tuple[int, int]:
        return self.pixels.shape[0], self.pixels.shape[1]


@dataclass(frozen=True)
class Triple:
    """The fused image and its two sources, all checked and of one height x width."""

    fused: Image
    ir: Image
    vis: Image

    def images(self) -> tuple[Image, Image, Image]:
        return self.fused, self.ir, self.vis


def _check_pixels(pixels: np.ndarray, label: str) -> np.ndarray:
    if pixels.dtype == np.uint16:
        raise MetricInputError(
            f"{label}: 16-bit image; the metrics are defined on 8-bit data, convert it first "
            "(e.g. ivifdata.imageio.read_image(path, to_8bit=True))"
        )
    if pixels.dtype.kind == "f":
        raise MetricInputError(
            f"{label}: floating-point image ({pixels.dtype}); pass uint8 0-255, e.g. "
            "np.clip(np.round(x), 0, 255).astype(np.uint8)"
        )
    if pixels.dtype != np.uint8:
        raise MetricInputError(f"{label}: unsupported dtype {pixels.dtype}; expected uint8")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)):
        raise MetricInputError(
            f"{label}: shape {pixels.shape}; expected (H, W) gray or (H, W, 3) RGB"
        )
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise MetricInputError(f"{label}: empty image (shape {pixels.shape})")
    return pixels


def load_image(source: str | os.PathLike | np.ndarray, role: str) -> Image:
    """Decode (paths) and check one image; ``role`` is ``fused``, ``ir`` or ``vis``."""
    if isinstance(source, str | os.PathLike):
        label = f"{role} image {os.fspath(source)}"
        try:
            pixels = read_image(source)
        except ImageReadError as exc:
            raise MetricInputError(f"{role} image {exc}") from None
    elif isinstance(source, np.ndarray):
        label = f"{role} (array)"
        pixels = source
    else:
        raise MetricInputError(
            f"{role}: expected a file path or a numpy array, got {type(source).__name__}"
        )
    return Image(_check_pixels(pixels, label), label)


def load_triple(fused, ir, vis) -> Triple:
    """Load and check the three images; they must share height x width."""
    triple = Triple(load_image(fused, "fused"), load_image(ir, "ir"), load_image(vis, "vis"))
    reference = triple.fused
    for image in (triple.ir, triple.vis):
        if image.size != reference.size:
            raise MetricInputError(
                f"size mismatch: {reference.label} is {_hw(reference.size)} but {image.label} "
                f"is {_hw(image.size)} (height x width); the metrics need co-registered images "
                "of one size"
            )
    return triple


def _hw(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"
