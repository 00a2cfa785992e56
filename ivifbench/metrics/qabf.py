"""Qabf: Xydeas and Petrovic's gradient-based fusion quality Q^{AB/F}, as shared by VIFB
``metricsQabf``, Tang ``analysis_Qabf`` and CDDFuse ``Evaluator.Qabf``."""

from __future__ import annotations

import math

import numpy as np

from ivifbench.metrics.filtering import sobel_conv2_same

TG, KG, DG = 0.9994, -15.0, 0.5
TA, KA, DA = 0.9879, -22.0, 0.8


def _strength_orientation(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge strength sqrt(sx^2 + sy^2) and orientation atan(sy / sx) (pi/2 where sx == 0)."""
    sx, sy = sobel_conv2_same(image)
    strength = np.sqrt(sx * sx + sy * sy)
    vertical = sx == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        orientation = np.arctan(sy / sx)
    orientation[vertical] = math.pi / 2
    return strength, orientation


def _preservation(
    g_src: np.ndarray, a_src: np.ndarray, g_fused: np.ndarray, a_fused: np.ndarray
) -> np.ndarray:
    """Q^{SF} map. Strength ratio min/max, with the toolboxes' tie rule: where the strengths
    are exactly equal the "ratio" is the fused strength itself (not 1)."""
    ratio = np.divide(
        np.minimum(g_src, g_fused),
        np.maximum(g_src, g_fused),
        out=g_fused.copy(),
        where=g_src != g_fused,
    )
    angle = 1.0 - np.abs(a_src - a_fused) / (math.pi / 2)
    q_strength = TG / (1.0 + np.exp(KG * (ratio - DG)))
    q_angle = TA / (1.0 + np.exp(KA * (angle - DA)))
    return q_strength * q_angle


def qabf(fused: np.ndarray, a: np.ndarray, b: np.ndarray, *, input_scale: float = 1.0) -> float:
    """Q^{AB/F} = sum(Q^{AF} g_A + Q^{BF} g_B) / sum(g_A + g_B), unitless in [0, 1].

    Sobel by ``conv2 'same'`` (zero padding). ``input_scale`` multiplies the images first:
    VIFB uses 255 (``255 * im2double(double)``), which changes the tie rule's value. NaN when
    neither source has any gradient.
    """
    if input_scale != 1.0:
        fused, a, b = fused * input_scale, a * input_scale, b * input_scale
    g_f, a_f = _strength_orientation(fused)
    g_a, a_a = _strength_orientation(a)
    g_b, a_b = _strength_orientation(b)
    numerator = np.sum(
        _preservation(g_a, a_a, g_f, a_f) * g_a + _preservation(g_b, a_b, g_f, a_f) * g_b
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.float64(numerator) / np.sum(g_a + g_b))
