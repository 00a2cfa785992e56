"""CDDFuse's conversion of an RGB uint8 image to one grey channel (the MATLAB toolboxes'
``rgb2gray`` is :func:`ivifbench.metrics.matlab_compat.gray_octave`)."""

from __future__ import annotations

import cv2
import numpy as np


def gray_cddfuse(rgb: np.ndarray) -> np.ndarray:
    """CDDFuse ``image_read_cv2(path, 'GRAY')``: float32 image through OpenCV's float
    ``cvtColor`` (0.299 R + 0.587 G + 0.114 B in float32), then ``np.round``; returned as uint8
    (the rounded values are integers 0-255)."""
    gray = cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2GRAY)
    return np.round(gray).astype(np.uint8)
