"""Each toolbox's conversion of an RGB uint8 image to one grey channel."""

from __future__ import annotations

import cv2
import numpy as np

from ivifbench.metrics.filtering import matlab_round

#: Octave 7.3 / MATLAB ``rgb2gray`` luminance weights (R, G, B).
OCTAVE_RGB2GRAY_WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def gray_octave(rgb: np.ndarray) -> np.ndarray:
    """Octave ``rgb2gray`` on uint8: weighted sum in float64, rounded (halves away from zero)
    back to uint8 (0-255). Used by the ``tang`` convention."""
    rgb = rgb.astype(np.float64)
    wr, wg, wb = OCTAVE_RGB2GRAY_WEIGHTS
    gray = rgb[..., 0] * wr + rgb[..., 1] * wg + rgb[..., 2] * wb
    return np.clip(matlab_round(gray), 0, 255).astype(np.uint8)


def gray_cddfuse(rgb: np.ndarray) -> np.ndarray:
    """CDDFuse ``image_read_cv2(path, 'GRAY')``: float32 image through OpenCV's float
    ``cvtColor`` (0.299 R + 0.587 G + 0.114 B in float32), then ``np.round``; returned as uint8
    (the rounded values are integers 0-255)."""
    gray = cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2GRAY)
    return np.round(gray).astype(np.uint8)
