"""Nabf: fusion artefacts measure of Petrovic's framework as modified by B. K. Shreyamsha Kumar
(SIViP 2013), the ``analysis_nabf.m`` of Tang's evaluation code."""

from __future__ import annotations

import cv2
import numpy as np

from ivifbench.metrics._arrays import gray_images

#: The 3x3 Sobel neighbourhood (reflect-101 extension) must fit in the image.
MIN_SIZE = (3, 3)

EDGE_THRESHOLD = 2.0  # Td: edge strength from which a pixel gets weight g^L
WEIGHT_MIN = 0.001  # weight of weaker pixels
WEIGHT_EXPONENT = 1.5  # L
STRENGTH_GAIN, STRENGTH_SLOPE, STRENGTH_MID = 0.9999, 19.0, 0.5  # Gamma_g, k_g, sigma_g
ORIENT_GAIN, ORIENT_SLOPE, ORIENT_MID = 0.9995, 22.0, 0.5  # Gamma_a, k_a, sigma_a

_SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8


def _sobel(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(d/dx, d/dy, magnitude) of Sobel/8 correlations with reflect-101 extension."""
    gx = cv2.filter2D(image, cv2.CV_64F, _SOBEL_X, borderType=cv2.BORDER_REFLECT_101)
    gy = cv2.filter2D(image, cv2.CV_64F, _SOBEL_X.T, borderType=cv2.BORDER_REFLECT_101)
    return gx, gy, np.sqrt(gy * gy + gx * gx)


def _orientation(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """atan(gx / gy), 0 where both are 0 (the code's naming: gv = d/dx, gh = d/dy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        angle = np.arctan(gx / gy)
    angle[(gx == 0) & (gy == 0)] = 0.0
    return angle


def _edge_preservation(
    g_src: np.ndarray, a_src: np.ndarray, g_fused: np.ndarray, a_fused: np.ndarray
) -> np.ndarray:
    """Petrovic Q^{SF} = sqrt(Q_g Q_a) from strengths g and orientations a (1-D pixel lists)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(g_src > g_fused, g_fused / g_src, g_src / g_fused)
    ratio[(g_src == 0) | (g_fused == 0)] = 0.0
    angle = np.abs(np.abs(a_src - a_fused) - np.pi / 2) * 2 / np.pi
    q_strength = STRENGTH_GAIN / (1 + np.exp(-STRENGTH_SLOPE * (ratio - STRENGTH_MID)))
    q_orient = ORIENT_GAIN / (1 + np.exp(-ORIENT_SLOPE * (angle - ORIENT_MID)))
    return np.sqrt(q_strength * q_orient)


def _weights(strength: np.ndarray) -> np.ndarray:
    """g^L where g >= Td, else the minimum weight."""
    return np.where(strength >= EDGE_THRESHOLD, strength**WEIGHT_EXPONENT, WEIGHT_MIN)


def nabf(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Modified fusion-artefact measure N_{AB/F}, unitless in [0, 1], lower is better.

    ``sum_{n} [(1 - Q^{AF}) w_A + (1 - Q^{BF}) w_B] / sum (w_A + w_B)`` over the pixels n where
    the fused edge strength exceeds both source edge strengths (``analysis_nabf(F, A, B)``;
    symmetric in the two sources). Images in 0-255 grey levels (the edge threshold Td = 2 and
    the weights depend on the scale). Tang's ``analysis_Reference`` calls this function with
    (IR, VIS, F) in place of (F, IR, VIS); that quirk is applied by the ``tang`` convention.
    """
    f, a, b = gray_images("Nabf", MIN_SIZE, fused=fused, ir=ir, vis=vis)
    fx, fy, gf = _sobel(f)
    ax, ay, ga = _sobel(a)
    bx, by, gb = _sobel(b)
    weight_a = _weights(ga)
    weight_b = _weights(gb)
    total_weight = np.sum(weight_a + weight_b)
    artefact = np.flatnonzero((gf > ga) & (gf > gb))
    a_fused = _orientation(fx.flat[artefact], fy.flat[artefact])
    q_a = _edge_preservation(
        ga.flat[artefact],
        _orientation(ax.flat[artefact], ay.flat[artefact]),
        gf.flat[artefact],
        a_fused,
    )
    q_b = _edge_preservation(
        gb.flat[artefact],
        _orientation(bx.flat[artefact], by.flat[artefact]),
        gf.flat[artefact],
        a_fused,
    )
    loss = (1 - q_a) * weight_a.flat[artefact] + (1 - q_b) * weight_b.flat[artefact]
    return float(np.sum(loss) / total_weight)
