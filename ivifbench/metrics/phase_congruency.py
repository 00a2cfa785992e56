"""Zhao's phase-congruency fusion metric Qp (J. Zhao, R. Laganiere, Z. Liu, Int. J. Innovative
Computing, Information and Control 3 (6A) 2007, 1433-1447), as Z. Liu's ``metricZhao.m`` computes
it, with his ``myphasecong3.m`` (Kovesi's ``phasecong3``, 2005, revised): phase congruency and
its maximum and minimum moments from a log-Gabor filter bank of 4 scales x 6 orientations
applied in the frequency domain.

Images are float64 in 0-255 grey levels; phase congruency and the moments are unitless.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import cv2
import ducc0
import numpy as np
import scipy.fft

from ivifbench.metrics import kernels, phase_kernels
from ivifbench.metrics.checks import gray_images
from ivifbench.metrics.matlab_compat import gaussian_window_1d

# Kovesi's defaults, as myphasecong3 is called (image only).
NSCALE = 4
NORIENT = 6
MIN_WAVELENGTH = 3.0
MULT = 2.1
SIGMA_ON_F = 0.55
D_THETA_ON_SIGMA = 1.2
NOISE_K = 2.0
CUT_OFF = 0.5
SIGMOID_G = 10.0
EPSILON = 1e-4
#: Low-pass filter applied to every log-Gabor filter: radius 0.45, order 15.
LOWPASS_CUTOFF, LOWPASS_ORDER = 0.45, 15
#: Kovesi's empirical rescaling of the PC_1 noise threshold for PC_2.
NOISE_RESCALE = 1.7

# metricZhao: features above this phase congruency count; correlation window and constants.
FEATURE_THRESHOLD = 0.1
WINDOW, SIGMA = 11, 1.5
C = 1e-4
#: A side of 1 divides 0 by 0 in myphasecong3's frequency grid (xrange / (cols - 1)).
MIN_SIDE = 2


class FilterBank(NamedTuple):
    """Kovesi's filters for one image size, in unshifted FFT order (read-only).

    ``log_gabor[s]``: radial component (low-pass applied, 0 at the DC term), scale s;
    ``spread[o]``: angular component, orientation o x 30 degrees; ``noise[o]`` =
    (EM_n, sum of the squared filter impulse responses, sum of their cross products over
    scale pairs), from which each orientation's noise threshold follows.
    """

    log_gabor: np.ndarray
    spread: np.ndarray
    noise: np.ndarray


def _centred_axis(n: int) -> np.ndarray:
    """myphasecong3's ``xrange``/``yrange``: -0.5..0.5 (odd n) or -0.5..0.5 - 1/n (even n)."""
    if n % 2:
        return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)
    return np.arange(-n / 2, n / 2) / n


def _lowpass(rows: int, cols: int) -> np.ndarray:
    """Kovesi's ``lowpassfilter([rows, cols], .45, 15)``: Butterworth 1 / (1 + (r / .45)^30),
    with ``fftshift`` (not ``ifftshift``: off by one sample for odd sizes, kept)."""
    x = (np.arange(1, cols + 1) - (cols // 2 + 1)) / cols
    y = (np.arange(1, rows + 1) - (rows // 2 + 1)) / rows
    radius = np.sqrt(x[np.newaxis, :] ** 2 + y[:, np.newaxis] ** 2)
    return np.fft.fftshift(1.0 / (1.0 + (radius / LOWPASS_CUTOFF) ** (2.0 * LOWPASS_ORDER)))


@functools.lru_cache(maxsize=2)
def filter_bank(rows: int, cols: int) -> FilterBank:
    """The filter bank of ``myphasecong3`` for ``rows`` x ``cols`` images (cached per size)."""
    x = _centred_axis(cols)[np.newaxis, :]
    y = _centred_axis(rows)[:, np.newaxis]
    radius = np.sqrt(x**2 + y**2)
    radius[rows // 2, cols // 2] = 1.0  # no log(0) at the DC term
    theta = np.arctan2(-y, x)
    radius = np.fft.ifftshift(radius)
    theta = np.fft.ifftshift(theta)
    sin_theta, cos_theta = np.sin(theta), np.cos(theta)
    lowpass = _lowpass(rows, cols)
    log_gabor = np.empty((NSCALE, rows, cols))
    for s in range(NSCALE):
        centre = 1.0 / (MIN_WAVELENGTH * MULT**s)
        radial = np.exp(-(np.log(radius / centre) ** 2) / (2 * math.log(SIGMA_ON_F) ** 2))
        log_gabor[s] = radial * lowpass
        log_gabor[s, 0, 0] = 0.0
    theta_sigma = math.pi / NORIENT / D_THETA_ON_SIGMA
    spread = np.empty((NORIENT, rows, cols))
    noise = np.empty((NORIENT, 3))
    for o in range(NORIENT):
        angle = o * math.pi / NORIENT
        ds = sin_theta * math.cos(angle) - cos_theta * math.sin(angle)
        dc = cos_theta * math.cos(angle) + sin_theta * math.sin(angle)
        spread[o] = np.exp(-(np.abs(np.arctan2(ds, dc)) ** 2) / (2 * theta_sigma**2))
        filters = log_gabor * spread[o]
        impulse = scipy.fft.ifft2(filters).real * math.sqrt(rows * cols)
        cross = sum(impulse[i] * impulse[j] for i in range(NSCALE) for j in range(i + 1, NSCALE))
        noise[o] = (np.sum(filters[0] ** 2), np.sum(impulse**2), np.sum(cross))
    for array in (log_gabor, spread, noise):
        array.setflags(write=False)
    return FilterBank(log_gabor, spread, noise)


def _noise_threshold(median_e2: float, em_n: float, sum_an2: float, sum_aiaj: float) -> float:
    """Kovesi's noise threshold T of one orientation, from the median squared amplitude at the
    smallest scale (Rayleigh noise model, k = 2 standard deviations, / 1.7 for PC_2)."""
    noise_power = (-median_e2 / math.log(0.5)) / em_n
    energy2 = 2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj
    tau = math.sqrt(energy2 / 2)
    mean = tau * math.sqrt(math.pi / 2)
    sigma = math.sqrt((2 - math.pi / 2) * tau**2)
    return (mean + NOISE_K * sigma) / NOISE_RESCALE


class PhaseCongruency(NamedTuple):
    """``myphasecong3`` outputs: phase congruency ``pc`` (0-1), maximum moment ``big_m`` (edge
    strength) and minimum moment ``small_m`` (corner strength) of the PC covariance,
    unitless float64 maps of the image's shape."""

    pc: np.ndarray
    big_m: np.ndarray
    small_m: np.ndarray


def phase_congruency(image: np.ndarray) -> PhaseCongruency:
    """Kovesi's PC_2 phase congruency with Liu's revision (``myphasecong3(image)``): per
    orientation, the noise-thresholded energy weighted by the frequency-spread sigmoid, summed
    over orientations and divided by the summed amplitudes (+ 1e-4); moments from the
    covariance of the per-orientation PC. A pixel where every filter response is exactly 0
    gives NaN moments (0/0), as the MATLAB code does."""
    if kernels.active():
        return _phase_congruency_compiled(image)
    return _phase_congruency_numpy(image)


def _phase_congruency_compiled(image: np.ndarray) -> PhaseCongruency:
    """:func:`phase_congruency` with ducc0's FFTs (the forward one real-to-complex, the inverse
    ones of an orientation in place) and the per-pixel passes compiled, in this thread's
    reused buffers (no fresh pages per call)."""
    rows, cols = image.shape
    bank = filter_bank(rows, cols)
    half = ducc0.fft.r2c(image, axes=(0, 1), nthreads=1)
    responses = kernels.workspace("qp responses", (NSCALE, rows, cols), np.complex128)
    energy, sum_an, width = kernels.workspace("qp orientations", (3, NORIENT, rows, cols))
    amp1sq, scratch = kernels.workspace("qp median", (2, rows, cols))
    thresholds = np.empty(NORIENT)
    for o in range(NORIENT):
        phase_kernels.filtered_spectra(half, bank.log_gabor, bank.spread[o], responses)
        eo = ducc0.fft.c2c(
            responses, axes=(1, 2), forward=False, inorm=2, out=responses, nthreads=1
        )
        phase_kernels.orientation_energy(eo, EPSILON, energy[o], sum_an[o], width[o], amp1sq)
        median = phase_kernels.median(amp1sq, scratch.ravel())
        thresholds[o] = _noise_threshold(median, *bank.noise[o])
    angles = np.arange(NORIENT) * math.pi / NORIENT
    cos_sin = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    out = np.empty((3, rows, cols))
    phase_kernels.moments(
        energy, sum_an, width, thresholds, cos_sin, CUT_OFF, SIGMOID_G, EPSILON, out
    )
    return PhaseCongruency(*out)


def _phase_congruency_numpy(image: np.ndarray) -> PhaseCongruency:
    """:func:`phase_congruency` in numpy, step by step as ``myphasecong3.m`` (the reference)."""
    rows, cols = image.shape
    bank = filter_bank(rows, cols)
    spectrum = scipy.fft.fft2(image)
    total_energy = np.zeros((rows, cols))
    total_sum_an = np.zeros((rows, cols))
    covx2, covy2, covxy = (np.zeros((rows, cols)) for _ in range(3))
    for o in range(NORIENT):
        eo = [
            scipy.fft.ifft2(spectrum * (bank.log_gabor[s] * bank.spread[o])) for s in range(NSCALE)
        ]
        amplitude = [np.abs(e) for e in eo]
        sum_an = sum(amplitude[1:], amplitude[0])
        max_an = functools.reduce(np.maximum, amplitude)
        sum_e = sum((e.real for e in eo[1:]), eo[0].real)
        sum_o = sum((e.imag for e in eo[1:]), eo[0].imag)
        x_energy = np.sqrt(sum_e**2 + sum_o**2) + EPSILON
        mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
        energy = np.zeros((rows, cols))
        for e in eo:
            energy = (
                energy
                + e.real * mean_e
                + e.imag * mean_o
                - np.abs(e.real * mean_o - e.imag * mean_e)
            )
        threshold = _noise_threshold(float(np.median(amplitude[0] ** 2)), *bank.noise[o])
        energy = np.fmax(energy - threshold, 0.0)  # MATLAB max ignores NaN
        width = sum_an / (max_an + EPSILON) / NSCALE
        weight = 1.0 / (1 + np.exp((CUT_OFF - width) * SIGMOID_G))
        energy_o = weight * energy
        total_sum_an += sum_an
        total_energy += energy_o
        with np.errstate(invalid="ignore"):  # 0/0 where every response is 0, as MATLAB
            pc_o = energy_o / sum_an
        angle = o * math.pi / NORIENT
        covx, covy = pc_o * math.cos(angle), pc_o * math.sin(angle)
        covx2 += covx**2
        covy2 += covy**2
        covxy += covx * covy
    pc = total_energy / (total_sum_an + EPSILON)
    covx2 /= NORIENT / 2
    covy2 /= NORIENT / 2
    covxy /= NORIENT
    denom = np.sqrt(covxy**2 + (covx2 - covy2) ** 2) + EPSILON
    return PhaseCongruency(pc, (covy2 + covx2 + denom) / 2, (covy2 + covx2 - denom) / 2)


def _filter2_same(image: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(w, image, 'same')``, w = ``fspecial('gaussian', 11, 1.5)``, zero padding."""
    taps = gaussian_window_1d(WINDOW, SIGMA).reshape(-1, 1)
    return cv2.sepFilter2D(image, cv2.CV_64F, taps, taps, borderType=cv2.BORDER_CONSTANT)


def _correlation(
    im1: np.ndarray,
    im2: np.ndarray,
    im_max: np.ndarray,
    imf: np.ndarray,
    masks: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> float:
    """Liu's ``correlation_coeffcient``: per pixel, the largest of the three local correlations
    (sigma_XF + C) / (sqrt(|sigma_X^2 sigma_F^2|) + C) of the masked feature maps X = 1, 2, max
    with F (each 0 outside its mask), summed and divided by the size of the third mask."""
    if kernels.active():
        masked = kernels.workspace("qp correlation", (3, *imf.shape))
        for k, (image, mask) in enumerate(zip((im1, im2, im_max), masks, strict=True)):
            np.multiply(image, mask, out=masked[k])
        taps = gaussian_window_1d(WINDOW, SIGMA)
        total = phase_kernels.correlation_sum(*masked, imf, *masks, taps, C)
        return float(total / np.count_nonzero(masks[2]))
    mu_f = _filter2_same(imf)
    var_f = _filter2_same(imf * imf) - mu_f * mu_f
    results = []
    for image, mask in zip((im1, im2, im_max), masks, strict=True):
        x = mask * image
        mu = _filter2_same(x)
        var = _filter2_same(x * x) - mu * mu
        cov = _filter2_same(x * imf) - mu * mu_f
        result = mu * 0.0
        result[mask] = (cov[mask] + C) / (np.sqrt(np.abs(var[mask] * var_f[mask])) + C)
        results.append(result)
    best = np.fmax(np.fmax(results[0], results[1]), results[2])  # MATLAB max ignores NaN
    return float(np.sum(best) / np.count_nonzero(masks[2]))


def zhao_qp(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
    """Zhao's Qp (``metricZhao(IR, VIS, F)``), unitless, higher is better (<= 1 up to the
    constants): the product of the correlation scores of phase congruency, maximum moment and
    minimum moment. Each score: per pixel the best local correlation (11 x 11 Gaussian
    window) of F's map with the IR map, the VIS map or their per-pixel choice by larger PC,
    each masked to PC > 0.1, averaged over the pixels where max(PC_IR, PC_VIS) > 0.1."""
    f, a, b = gray_images("Qp", MIN_SIDE, fused=fused, ir=ir, vis=vis)
    # The sources' maps are reused by every fused image of the pair in a shared_sources block.
    pa, pb = kernels.shared(
        ("qp sources", kernels.active(), kernels.array_key(a), kernels.array_key(b)),
        (a, b),
        lambda: (phase_congruency(a), phase_congruency(b)),
    )
    pf = phase_congruency(f)
    take_a = pa.pc > pb.pc
    masks = (pa.pc > FEATURE_THRESHOLD, pb.pc > FEATURE_THRESHOLD)
    value = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN moments and 0/0 as MATLAB
        pc_max = take_a * pa.pc + ~take_a * pb.pc
        masks += (pc_max > FEATURE_THRESHOLD,)
        for field in PhaseCongruency._fields:
            x1, x2, xf = getattr(pa, field), getattr(pb, field), getattr(pf, field)
            x_max = take_a * x1 + ~take_a * x2
            value *= _correlation(x1, x2, x_max, xf, masks)
    return value
