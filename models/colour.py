"""Gray and colour handling of the visible image around the (gray) fusion networks.

The released code read both images with OpenCV ``IMREAD_GRAYSCALE``. For a colour PNG (all the
paper's test sets) OpenCV lets libpng do that conversion, which truncates:
``gray = (9797 R + 19234 G + 3737 B) >> 15`` (pixels with R == G == B are kept), and differs by
one level from ``cv2.cvtColor(RGB2GRAY)`` on about half of the pixels. :func:`published_gray`
reproduces it, so that the network sees exactly the published input.

A colour result keeps the visible chroma: the VIS image goes to YCrCb (``cv2.cvtColor``), its Y
is replaced by the fused 8-bit image and the result goes back to RGB.
"""

from __future__ import annotations

import cv2
import numpy as np

#: libpng's fixed-point rgb_to_gray coefficients for OpenCV's (0.299, 0.587) request (sum 2^15).
_LIBPNG_RGB = (9797, 19234, 3737)


def published_gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 as OpenCV ``IMREAD_GRAYSCALE`` decodes a colour PNG."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {rgb.shape} {rgb.dtype}")
    c = rgb.astype(np.uint32)
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    gray = (_LIBPNG_RGB[0] * r + _LIBPNG_RGB[1] * g + _LIBPNG_RGB[2] * b) >> 15
    neutral = (r == g) & (g == b)
    return np.where(neutral, r, gray).astype(np.uint8)


def restore_chroma(fused_y: np.ndarray, vis_rgb: np.ndarray) -> np.ndarray:
    """Put the (H, W) uint8 fused luma into the VIS image's YCrCb; returns (H, W, 3) uint8 RGB."""
    if fused_y.shape != vis_rgb.shape[:2]:
        raise ValueError(f"fused {fused_y.shape} and VIS {vis_rgb.shape} sizes differ")
    ycrcb = cv2.cvtColor(np.ascontiguousarray(vis_rgb), cv2.COLOR_RGB2YCrCb)
    ycrcb[..., 0] = fused_y
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)
