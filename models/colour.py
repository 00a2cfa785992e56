"""Gray and colour handling of the images around the (gray) fusion networks.

The released ``test.py`` read both inputs with ``scipy.misc.imread(path, mode="L")`` (lines
50-51) under its pinned scipy 1.2.0 / Pillow 9.3.0, which is PIL's ``Image.convert("L")``:
ITU-R 601-2 luma in 16-bit fixed point, rounded, ``L = (19595 R + 38470 G + 7471 B + 2^15) >>
16``; a gray 8-bit file is used as stored. :func:`network_gray` applies that rule
(``ivifdata.imageio`` rule ``pil601``) to both bands, so that the network sees exactly the
published input.

A colour result keeps the visible chroma: the VIS image goes to YCrCb (``cv2.cvtColor``), its Y
is replaced by the fused 8-bit image and the result goes back to RGB.
"""

from __future__ import annotations

import cv2
import numpy as np

from ivifdata.imageio import to_gray

#: Colour -> gray rule (``ivifdata.imageio.GRAY_RULES``) of the published inference, both bands.
PUBLISHED_GRAY_RULE = "pil601"


def network_gray(img: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 RGB -> (H, W) uint8 as the released code read it (PIL 'L')."""
    return to_gray(img, PUBLISHED_GRAY_RULE)


def restore_chroma(fused_y: np.ndarray, vis_rgb: np.ndarray) -> np.ndarray:
    """Put the (H, W) uint8 fused luma into the VIS image's YCrCb; returns (H, W, 3) uint8 RGB."""
    if fused_y.shape != vis_rgb.shape[:2]:
        raise ValueError(f"fused {fused_y.shape} and VIS {vis_rgb.shape} sizes differ")
    ycrcb = cv2.cvtColor(np.ascontiguousarray(vis_rgb), cv2.COLOR_RGB2YCrCb)
    ycrcb[..., 0] = fused_y
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)
