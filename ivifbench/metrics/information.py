"""Histogram metrics on 8-bit grey levels: entropy (EN) and mutual information (MI).

Inputs are float64 arrays holding integer grey levels 0-255 (what every convention feeds them).
"""

from __future__ import annotations

import numpy as np

from ivifbench.metrics import kernels
from ivifbench.metrics.matlab_compat import matlab_round
from ivifbench.metrics.numerics import grey_codes

LEVELS = 256


def _entropy(counts: np.ndarray, log) -> float:
    """Shannon entropy of a histogram, empty bins skipped, in the unit of ``log``."""
    p = counts[counts != 0] / counts.sum()
    return float(-np.sum(p * log(p)))


def entropy(fused: np.ndarray) -> float:
    """EN: Shannon entropy of the 256-bin grey-level histogram of ``fused``, in **bits**.

    Identical in VIFB ``metricsEntropy``, Tang (Octave ``entropy`` on uint8) and CDDFuse
    ``Evaluator.EN`` for 8-bit data.
    """
    if kernels.active():
        counts = kernels.grey_counts(fused)
        if counts is not None:
            return _entropy(counts, np.log2)
    codes = grey_codes(fused, "EN: fused")
    return _entropy(np.bincount(codes.ravel(), minlength=LEVELS), np.log2)


def _stretch_vifb(image: np.ndarray) -> np.ndarray:
    """VIFB ``mutinf`` normalisation: ``int16((x - min) / (max - min) * 255)``; constant -> 0."""
    lo, hi = image.min(), image.max()
    if hi == lo:
        return np.zeros(image.shape, dtype=np.uint8)
    return matlab_round((image - lo) / (hi - lo) * 255.0).astype(np.uint8)


def _mutual_information_compiled(
    fused: np.ndarray, a: np.ndarray, b: np.ndarray, saturate_joint: bool
) -> float | None:
    """MI in nats by the compiled histogram kernel; ``None`` for values that are not 8-bit
    grey levels (the numpy path then raises its error). VIFB's stretch is not needed here:
    it maps the levels present one to one and in order onto 0..255 (their spacing
    255 / (max - min) is at least 1), so every histogram keeps its counts in the same bin
    order, and MI its value; a constant image stays one bin (not so with ``saturate_joint``,
    which merges the two top levels after the stretch: that mix stays on the numpy path)."""
    # the uint8 pixels of compute's planes where recorded: an eighth of the memory to read
    images = kernels.grey_pixels(fused, a, b) or kernels.contiguous(fused, a, b)
    # int32 counts halve the joint histograms' cache footprint; any count fits below 2^31.
    dtype = np.int32 if images[0].size < 2**31 else np.int64
    joints = kernels.workspace("mi joint histograms", (2, LEVELS, LEVELS), dtype)
    check = not kernels.grey_levels(fused, a, b)
    total, ok = kernels.mutual_information_nats(*images, saturate_joint, check, joints)
    return total if ok else None


def mutual_information(
    fused: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    *,
    bits: bool = False,
    stretch: bool = False,
    saturate_joint: bool = False,
) -> float:
    """MI: MI(A, F) + MI(B, F) = sum over sources of H(S) + H(F) - H(S, F).

    ``bits`` picks log2 (Tang) instead of the natural log (nats: CDDFuse, VIFB).
    ``stretch``: VIFB min-max stretches each image to 0..255 (MATLAB rounding) first.
    ``saturate_joint``: Tang's ``Hab.m`` indexes the joint histogram with ``uint8 + 1``, which
    saturates, so grey levels 254 and 255 share a joint bin (not a marginal one).
    CDDFuse's ``mutual_info_score`` on the float values is the same quantity: its contingency
    table over unique values is this 256 x 256 histogram for 8-bit data.
    """
    if kernels.active() and not (stretch and saturate_joint):  # no convention mixes them
        total = _mutual_information_compiled(fused, a, b, saturate_joint)
        if total is not None:
            return total / np.log(2.0) if bits else total
    log = np.log2 if bits else np.log

    def codes(image: np.ndarray, name: str) -> np.ndarray:
        levels = grey_codes(image, f"MI: {name}")
        return _stretch_vifb(levels) if stretch else levels

    f = codes(fused, "fused").ravel()
    f_entropy = _entropy(np.bincount(f, minlength=LEVELS), log)
    # Joint codes F * 256 + S as uint16 (a quarter of the memory of intp codes).
    f_joint = (np.minimum(f, LEVELS - 2) if saturate_joint else f).astype(np.uint16) << 8
    total = 0.0
    for name, source in (("ir", a), ("vis", b)):
        s = codes(source, name).ravel()
        s_joint = np.minimum(s, LEVELS - 2) if saturate_joint else s
        joint = np.bincount(f_joint | s_joint, minlength=LEVELS * LEVELS)
        # The joint histogram's column sums are S's histogram unless bins were merged.
        s_counts = (
            np.bincount(s, minlength=LEVELS)
            if saturate_joint
            else joint.reshape(LEVELS, LEVELS).sum(axis=0)
        )
        s_entropy = _entropy(s_counts, log)
        total += s_entropy + f_entropy - _entropy(joint, log)
    return total
