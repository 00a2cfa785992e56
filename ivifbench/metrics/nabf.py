"""Nabf: fusion-artefact measure of Petrovic's gradient framework as modified by B. K. Shreyamsha
Kumar (SIViP 2013), the ``analysis_nabf.m`` of Tang's evaluation code."""

from __future__ import annotations

import cv2
import numpy as np

from ivifbench.metrics import kernels
from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.numerics import row_blocks, sobel_rows

#: The 3x3 Sobel neighbourhood (reflect-101 extension) must fit in the image.
MIN_SIDE = 3

EDGE_THRESHOLD = 2.0  # Td: edge strength from which a pixel weighs g^L
WEIGHT_MIN = 0.001  # weight of weaker pixels
WEIGHT_EXPONENT = 1.5  # L
STRENGTH_GAIN, STRENGTH_SLOPE, STRENGTH_MID = 0.9999, 19.0, 0.5  # Gamma_g, k_g, sigma_g
ORIENT_GAIN, ORIENT_SLOPE, ORIENT_MID = 0.9995, 22.0, 0.5  # Gamma_a, k_a, sigma_a


def _sobel_rows(image: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(d/dx, d/dy, magnitude) of the Sobel kernels / 8 with reflect-101 extension, for the
    output ``rows`` only."""
    grad_x, grad_y = sobel_rows(image, rows, cv2.BORDER_REFLECT_101, scale=0.125)
    return grad_x, grad_y, cv2.magnitude(grad_x, grad_y)


def _orientation(grad_x: np.ndarray, grad_y: np.ndarray) -> np.ndarray:
    """atan(d/dx / d/dy), 0 where both are 0 (the reference's ``atan(gv / gh)``)."""
    angle = np.arctan(grad_x / grad_y)
    np.copyto(angle, 0.0, where=(grad_x == 0) & (grad_y == 0))
    return angle


def _edge_preservation(
    g_src: np.ndarray, a_src: np.ndarray, g_fused: np.ndarray, a_fused: np.ndarray
) -> np.ndarray:
    """Petrovic Q^{SF} = sqrt(Q_g Q_a) from edge strengths g and orientations a."""
    ratio = np.where(g_src > g_fused, g_fused / g_src, g_src / g_fused)
    np.copyto(ratio, 0.0, where=(g_src == 0) | (g_fused == 0))
    angle = np.abs(np.abs(a_src - a_fused) - np.pi / 2) * 2 / np.pi
    q_strength = STRENGTH_GAIN / (1 + np.exp(-STRENGTH_SLOPE * (ratio - STRENGTH_MID)))
    q_orient = ORIENT_GAIN / (1 + np.exp(-ORIENT_SLOPE * (angle - ORIENT_MID)))
    return np.sqrt(q_strength * q_orient)


def _weights(strength: np.ndarray) -> np.ndarray:
    """g^L where g >= Td, else the minimum weight."""
    return np.where(strength >= EDGE_THRESHOLD, np.power(strength, WEIGHT_EXPONENT), WEIGHT_MIN)


def _band_sums(
    fused: tuple[np.ndarray, np.ndarray, np.ndarray],
    a: tuple[np.ndarray, np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[float, float]:
    """Artefact loss and total weight of some pixels from each image's (d/dx, d/dy, g)."""
    fx, fy, gf = fused
    weights = [_weights(gs) for _, _, gs in (a, b)]
    # Only pixels where the fused edge is stronger than both source edges contribute.
    idx = np.flatnonzero((gf > a[2]) & (gf > b[2]))
    g_fused = gf.ravel()[idx]
    a_fused = _orientation(fx.ravel()[idx], fy.ravel()[idx])
    loss = 0.0
    for (sx, sy, gs), ws in zip((a, b), weights, strict=True):
        a_src = _orientation(sx.ravel()[idx], sy.ravel()[idx])
        q = _edge_preservation(gs.ravel()[idx], a_src, g_fused, a_fused)
        loss += float(np.sum((1 - q) * ws.ravel()[idx]))
    return loss, float(weights[0].sum() + weights[1].sum())


def nabf(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Modified fusion-artefact measure N_{AB/F}, unitless in [0, 1], lower is better.

    ``sum_n [(1 - Q^{AF}) w_A + (1 - Q^{BF}) w_B] / sum (w_A + w_B)`` over the pixels n where the
    fused edge strength exceeds both source edge strengths (``analysis_nabf(F, A, B)``;
    symmetric in the two sources). Images in 0-255 grey levels (the edge threshold Td = 2 and
    the weights depend on that scale). Tang's ``analysis_Reference`` calls this function with
    (IR, VIS, F) in place of (F, IR, VIS); that quirk belongs to the ``tang`` convention.
    """
    f, a, b = gray_images("Nabf", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    if kernels.active():
        loss, total_weight = kernels.nabf_sums(f, a, b, EDGE_THRESHOLD, WEIGHT_MIN)
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.float64(loss) / np.float64(total_weight))
    loss = total_weight = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for rows in row_blocks(f.shape[0]):  # cache-sized bands
            loss_band, weight_band = _band_sums(*(_sobel_rows(x, rows) for x in (f, a, b)))
            loss += loss_band
            total_weight += weight_band
    return float(loss / total_weight)
