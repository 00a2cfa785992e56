"""``compute_batch``: metric values of a batch of fusion triples with torch (CPU or GPU).

float64 throughout, the same definitions as the numpy metrics in :mod:`ivifbench.metrics`
(values agree to 1e-8 relative in ``tests/test_torch_backend.py``). Every metric function takes
(B, H, W) float64 tensors of 0-255 grey levels and returns a float64 tensor (B,). Covered:
every metric of every convention (``cddfuse``; ``tang`` with Nabf; ``vifb`` with its
per-channel colour handling; VIFF, Q0, Qw, Qe, Qy, Qc, NCIE, TE, Qp, MS_SSIM) but the FMI variants.
Liu's local-SSIM metrics take ratios of round-off in flat windows; those windows are
recomputed on the host by the numpy code
(:func:`ivifbench.metrics.local_ssim.octave_window_moments`), the rest runs on the device.
A metric without a torch twin raises ``MetricInputError``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from ivifbench.computation import resolve_metrics
from ivifbench.conventions import DEFAULT_CONVENTION, TANG, Convention, get_convention
from ivifbench.errors import MetricInputError
from ivifbench.metrics import (
    cross_entropy,
    edge_intensity,
    gradient,
    information,
    liu_information,
    local_ssim,
    mef_ssim,
    moments,
    nabf,
    phase_congruency,
    piella,
    qabf,
    qcb,
    qcv,
    squared_error,
    ssim,
    vif,
    viff,
    yang_cvejic,
)
from ivifbench.metrics.matlab_compat import gaussian_window_1d

Tensor = torch.Tensor
#: (fused, ir, vis) planes of one channel, each (B, H, W) float64 0-255.
Planes = tuple[Tensor, Tensor, Tensor]
LEVELS = 256


# --- shared helpers -------------------------------------------------------------------------


def _sums(x: Tensor) -> Tensor:
    """Sum over the last two (pixel) axes: (B, H, W) -> (B,)."""
    return x.sum(dim=(-2, -1))


def _tensor(array: np.ndarray, like: Tensor) -> Tensor:
    """A numpy constant as a float64 tensor on ``like``'s device."""
    return torch.tensor(array, dtype=torch.float64, device=like.device)


def _codes(x: Tensor, name: str) -> Tensor:
    """Integer grey levels 0..255 as int64 (``ValueError`` naming ``name`` otherwise)."""
    if not bool(((x == x.round()) & (x >= 0) & (x <= 255)).all()):
        raise ValueError(f"{name}: expected integer grey levels 0-255 (8-bit data)")
    return x.long()


def _histograms(codes: Tensor, bins: int = LEVELS) -> Tensor:
    """Per-image histograms (B, bins) float64 of integer codes (B, ...) in 0..bins-1."""
    batch = codes.shape[0]
    offset = torch.arange(batch, device=codes.device).view(batch, *[1] * (codes.dim() - 1))
    flat = (codes + offset * bins).ravel()
    return torch.bincount(flat, minlength=batch * bins).reshape(batch, bins).double()


def _entropy(counts: Tensor, log: Callable[[Tensor], Tensor]) -> Tensor:
    """Entropy of each row of histograms (B, bins), empty bins skipped, unit of ``log``."""
    p = counts / counts.sum(dim=1, keepdim=True)
    safe = torch.where(p > 0, p, torch.ones_like(p))
    return -(torch.where(p > 0, p * log(safe), torch.zeros_like(p))).sum(dim=1)


def _matlab_round(x: Tensor) -> Tensor:
    """MATLAB ``round`` for non-negative x (halves up), as ``matlab_compat.matlab_round``."""
    whole = torch.floor(x)
    return whole + (x - whole >= 0.5).to(x.dtype)


def _extremes(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-image (min, max), shaped (B, 1, 1) to broadcast against x."""
    return x.amin(dim=(-2, -1), keepdim=True), x.amax(dim=(-2, -1), keepdim=True)


def _correlate_valid(x: Tensor, taps: np.ndarray, dim: int) -> Tensor:
    """'valid' 1-D correlation of ``x`` with ``taps`` along ``dim``: a sum of shifted slices
    (one fused multiply-add pass per tap; faster than float64 ``conv2d`` on CPU and GPU)."""
    n = len(taps)
    length = x.shape[dim] - n + 1
    out = x.narrow(dim, 0, length) * float(taps[0])
    for k in range(1, n):
        out.add_(x.narrow(dim, k, length), alpha=float(taps[k]))
    return out


def _filter_valid(x: Tensor, taps: np.ndarray) -> Tensor:
    """MATLAB filter2(taps' * taps, x, 'valid') of a (B, H, W) batch (symmetric taps)."""
    return _correlate_valid(_correlate_valid(x, taps, -2), taps, -1)


def _filter_same(x: Tensor, column: np.ndarray, row: np.ndarray) -> Tensor:
    """MATLAB filter2(column' * row, x, 'same') with zero padding (odd-length taps)."""
    pad_rows, pad_cols = len(column) // 2, len(row) // 2
    padded = F.pad(x, (pad_cols, pad_cols, pad_rows, pad_rows))
    return _correlate_valid(_correlate_valid(padded, column, -2), row, -1)


def _box_mean_valid(x: Tensor, size: int) -> Tensor:
    """Mean over every 'valid' ``size`` x ``size`` window: window sums (exact on integer data),
    then one division, as the compiled kernel."""
    ones = np.ones(size)
    return _correlate_valid(_correlate_valid(x, ones, -2), ones, -1) / (size * size)


def _sobel(x: Tensor, border: str) -> tuple[Tensor, Tensor]:
    """OpenCV 3x3 Sobel ``(d/dx, d/dy)`` (right - left, bottom - top) of a (B, H, W) batch.

    ``border``: ``"constant"`` (zeros: MATLAB conv2/filter2 'same'), ``"reflect"`` (OpenCV
    reflect-101) or ``"replicate"``. Exact on integer-valued data.
    """
    p = F.pad(x.unsqueeze(1), (1, 1, 1, 1), mode=border).squeeze(1)
    smooth_rows = p[:, :-2] + 2.0 * p[:, 1:-1] + p[:, 2:]  # [1 2 1]' down the columns
    smooth_cols = p[..., :-2] + 2.0 * p[..., 1:-1] + p[..., 2:]  # [1 2 1] along the rows
    return smooth_rows[..., 2:] - smooth_rows[..., :-2], smooth_cols[:, 2:] - smooth_cols[:, :-2]


def _magnitude(gx: Tensor, gy: Tensor) -> Tensor:
    """sqrt(gx^2 + gy^2) (the operations of ``cv2.magnitude``)."""
    return torch.sqrt(gx * gx + gy * gy)


def _pearson(x: Tensor, y: Tensor) -> Tensor:
    dx = x - x.mean(dim=(-2, -1), keepdim=True)
    dy = y - y.mean(dim=(-2, -1), keepdim=True)
    return _sums(dx * dy) / torch.sqrt(_sums(dx * dx) * _sums(dy * dy))


def _squared_error_sum(x: Tensor, y: Tensor) -> Tensor:
    return _sums((x - y) ** 2)


# --- fused image only -------------------------------------------------------------------------


def entropy(f: Tensor) -> Tensor:
    """EN in bits (:func:`ivifbench.metrics.information.entropy`)."""
    return _entropy(_histograms(_codes(f, "EN: fused")), torch.log2)


def standard_deviation(f: Tensor) -> Tensor:
    """SD, 0-255 (:func:`ivifbench.metrics.moments.standard_deviation`)."""
    return torch.sqrt(_sums((f - f.mean(dim=(-2, -1), keepdim=True)) ** 2) / f[0].numel())


def spatial_frequency(f: Tensor, *, divisor: str = "differences") -> Tensor:
    """SF, 0-255 (:func:`ivifbench.metrics.gradient.spatial_frequency`)."""
    rows, cols = f.shape[-2:]
    h_sum = _sums(torch.diff(f, dim=-1) ** 2)
    v_sum = _sums(torch.diff(f, dim=-2) ** 2)
    if divisor == "pixels":
        return torch.sqrt((h_sum + v_sum) / (rows * cols))
    return torch.sqrt(h_sum / (rows * (cols - 1)) + v_sum / ((rows - 1) * cols))


def _matlab_gradient(x: Tensor) -> tuple[Tensor, Tensor]:
    gx, gy = torch.empty_like(x), torch.empty_like(x)
    gx[..., 1:-1] = (x[..., 2:] - x[..., :-2]) / 2.0
    gx[..., 0] = x[..., 1] - x[..., 0]
    gx[..., -1] = x[..., -1] - x[..., -2]
    gy[..., 1:-1, :] = (x[..., 2:, :] - x[..., :-2, :]) / 2.0
    gy[..., 0, :] = x[..., 1, :] - x[..., 0, :]
    gy[..., -1, :] = x[..., -1, :] - x[..., -2, :]
    return gx, gy


def average_gradient(f: Tensor, *, divisor: str = "(M-1)(N-1)") -> Tensor:
    """AG, 0-255/pixel (:func:`ivifbench.metrics.gradient.average_gradient`)."""
    rows, cols = f.shape[-2:]
    gx, gy = _matlab_gradient(f)
    total = _sums(torch.sqrt((gx * gx + gy * gy) / 2.0))
    return total / ((rows - 1) * (cols - 1) if divisor == "(M-1)(N-1)" else rows * cols)


def edge_intensity_(f: Tensor) -> Tensor:
    """EI, 0-255: mean Sobel magnitude, replicate border (VIFB ``metricsEdge_intensity``)."""
    return _sums(_magnitude(*_sobel(f, "replicate"))) / f[0].numel()


# --- histograms of the sources ----------------------------------------------------------------


def _stretch_vifb(x: Tensor) -> Tensor:
    """VIFB ``mutinf``: round((x - min) / (max - min) * 255); a constant image -> 0."""
    lo, hi = _extremes(x)
    flat = hi == lo
    stretched = _matlab_round((x - lo) / torch.where(flat, torch.ones_like(hi), hi - lo) * 255.0)
    return torch.where(flat, torch.zeros_like(x), stretched)


def mutual_information(
    f: Tensor,
    a: Tensor,
    b: Tensor,
    *,
    bits: bool = False,
    stretch: bool = False,
    saturate_joint: bool = False,
) -> Tensor:
    """MI(A, F) + MI(B, F) as :func:`ivifbench.metrics.information.mutual_information`."""
    log = torch.log2 if bits else torch.log

    def codes(x: Tensor, name: str) -> Tensor:
        levels = _codes(x, f"MI: {name}")
        return _codes(_stretch_vifb(x), f"MI: {name}") if stretch else levels

    fc = codes(f, "fused").flatten(1)
    f_entropy = _entropy(_histograms(fc), log)
    fj = fc.clamp(max=LEVELS - 2) if saturate_joint else fc
    total = torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)
    for name, source in (("ir", a), ("vis", b)):
        sc = codes(source, name).flatten(1)
        sj = sc.clamp(max=LEVELS - 2) if saturate_joint else sc
        joint = _histograms(fj * LEVELS + sj, LEVELS * LEVELS)
        total += _entropy(_histograms(sc), log) + f_entropy - _entropy(joint, log)
    return total


def cross_entropy_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """CE in bits (:func:`ivifbench.metrics.cross_entropy.cross_entropy`)."""
    pixels = f[0].numel()
    p_fused = _histograms(_codes(f, "CE: fused").flatten(1)) / pixels

    def divergence(source: Tensor, name: str) -> Tensor:
        p = _histograms(_codes(source, f"CE: {name}").flatten(1)) / pixels
        common = (p != 0) & (p_fused != 0)
        ratio = p / torch.where(common, p_fused, torch.ones_like(p_fused))
        ratio = torch.where(common, ratio, torch.ones_like(ratio))
        return torch.where(common, p * torch.log2(ratio), torch.zeros_like(p)).sum(dim=1)

    return (divergence(b, "vis") + divergence(a, "ir")) / 2.0


# --- VIF and VIFF -----------------------------------------------------------------------------


def _source_gains(
    mu_s: Tensor, e_ss: Tensor, e_sf: Tensor, mu_f: Tensor, var_f: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """(gain, source variance, distortion variance) per pixel, as
    :func:`ivifbench.metrics.vif.source_gains`."""
    cov = e_sf - mu_s * mu_f
    var_s = torch.clamp(e_ss - mu_s * mu_s, min=0.0)
    gain = cov / (var_s + vif.EPS)
    noise = torch.clamp(var_f - gain * cov, min=vif.EPS)
    informative = (var_s >= vif.EPS) & (var_f >= vif.EPS) & (gain > 0)
    var_s = torch.where(var_s >= vif.EPS, var_s, torch.zeros_like(var_s))
    gain = torch.where(informative, gain, torch.zeros_like(gain))
    return gain, var_s, noise


def _vif_scales(f: Tensor, a: Tensor, b: Tensor):
    """Yield, for each of the four VIF scales, the (gain, s^2, v^2) triples of the sources a
    and b against the distorted image f (low-pass 'valid' + dyadic subsampling between
    scales)."""
    for scale, size in enumerate(vif.SCALE_WINDOWS):
        taps = gaussian_window_1d(size, size / 5.0)
        if scale > 0:
            f, a, b = (_filter_valid(x, taps)[:, ::2, ::2] for x in (f, a, b))
        mu_f = _filter_valid(f, taps)
        var_f = torch.clamp(_filter_valid(f * f, taps) - mu_f * mu_f, min=0.0)
        yield [
            _source_gains(
                _filter_valid(s, taps),
                _filter_valid(s * s, taps),
                _filter_valid(s * f, taps),
                mu_f,
                var_f,
            )
            for s in (a, b)
        ]


def visual_information_fidelity(
    f: Tensor, a: Tensor, b: Tensor, *, nan_as_one: bool = False
) -> Tensor:
    """VIFp(A, F) + VIFp(B, F), sigma_n^2 = 2 (:mod:`ivifbench.metrics.vif`)."""
    zeros = torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)
    num, den = [zeros, zeros], [zeros, zeros]
    for sources in _vif_scales(f, a, b):
        for k, (gain, var_s, noise) in enumerate(sources):
            num[k] = num[k] + _sums(torch.log10(1.0 + gain * gain * var_s / (noise + 2.0)))
            den[k] = den[k] + _sums(torch.log10(1.0 + var_s / 2.0))
    total = zeros
    for n, d in zip(num, den, strict=True):
        value = n / d
        if nan_as_one:
            value = torch.where(torch.isnan(value), torch.ones_like(value), value)
        total = total + value
    return total


def viff_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Han's VIFF (:func:`ivifbench.metrics.viff.viff`): per pixel the source with the smaller
    gain (the second on ties), four weighted scale scores."""
    scores = []
    for (gain_a, var_a, noise_a), (gain_b, var_b, noise_b) in _vif_scales(f, a, b):
        take_b = ~(gain_a < gain_b)
        gain = torch.where(take_b, gain_b, gain_a)
        var_s = torch.where(take_b, var_b, var_a)
        noise = torch.where(take_b, noise_b, noise_a)
        vid = torch.log10(gain * gain * var_s / (noise + viff.VISUAL_NOISE) + 1.0)
        vind = torch.log10(var_s / viff.VISUAL_NOISE + 1.0)
        scores.append(_sums(vid + viff.RATIO_OFFSET) / _sums(vind + viff.RATIO_OFFSET))
    weights = _tensor(viff.SCALE_WEIGHTS, f)
    return (torch.stack(scores, dim=1) * weights).sum(dim=1)


# --- gradient frameworks: Qabf and Nabf -------------------------------------------------------


def _qabf_edges(x: Tensor) -> tuple[Tensor, Tensor]:
    """Strength and orientation of MATLAB conv2 'same' Sobel responses (sx = left - right,
    sy = bottom - top; orientation pi/2 where sx == 0)."""
    dx, dy = _sobel(x, "constant")
    sx, sy = -dx, dy
    vertical = sx == 0
    angle = torch.atan(sy / torch.where(vertical, torch.ones_like(sx), sx))
    return _magnitude(sx, sy), torch.where(vertical, torch.full_like(sx, math.pi / 2), angle)


def q_abf(f: Tensor, a: Tensor, b: Tensor, *, input_scale: float = 1.0) -> Tensor:
    """Q^{AB/F} (:func:`ivifbench.metrics.qabf.qabf`), tie g_S == g_F -> g_F."""
    if input_scale != 1.0:
        f, a, b = f * input_scale, a * input_scale, b * input_scale
    g_f, a_f = _qabf_edges(f)
    numerator = torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)
    denominator = torch.zeros_like(numerator)
    for source in (a, b):
        g_s, a_s = _qabf_edges(source)
        high = torch.maximum(g_s, g_f)
        ratio = torch.minimum(g_s, g_f) / torch.where(high == 0, torch.ones_like(high), high)
        ratio = torch.where(g_s == g_f, g_f, ratio)
        strength = 1.0 + torch.exp((ratio - qabf.DG) * qabf.KG)
        slope, offset = -qabf.KA / (math.pi / 2), qabf.KA * (1.0 - qabf.DA)
        angle = 1.0 + torch.exp(torch.abs(a_s - a_f) * slope + offset)
        numerator += qabf.TG * qabf.TA * _sums(g_s / (strength * angle))
        denominator += _sums(g_s)
    return numerator / denominator


def _nabf_edges(x: Tensor) -> tuple[Tensor, Tensor]:
    """Strength and orientation atan(d/dx / d/dy) (0 where both are 0) of the Sobel / 8
    responses with reflect-101 border."""
    gx, gy = (g * 0.125 for g in _sobel(x, "reflect"))
    angle = torch.atan(gx / gy)
    return _magnitude(gx, gy), torch.where((gx == 0) & (gy == 0), torch.zeros_like(gx), angle)


def _nabf_preservation(g_s: Tensor, a_s: Tensor, g_f: Tensor, a_f: Tensor) -> Tensor:
    """Petrovic Q^{SF} = sqrt(Q_g Q_a) (``nabf._edge_preservation``)."""
    ratio = torch.where(g_s > g_f, g_f / g_s, g_s / g_f)
    ratio = torch.where((g_s == 0) | (g_f == 0), torch.zeros_like(ratio), ratio)
    angle = torch.abs(torch.abs(a_s - a_f) - math.pi / 2) * 2 / math.pi
    q_strength = nabf.STRENGTH_GAIN / (
        1 + torch.exp(-nabf.STRENGTH_SLOPE * (ratio - nabf.STRENGTH_MID))
    )
    q_orient = nabf.ORIENT_GAIN / (1 + torch.exp(-nabf.ORIENT_SLOPE * (angle - nabf.ORIENT_MID)))
    return torch.sqrt(q_strength * q_orient)


def nabf_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Kumar's modified N_{AB/F} (:func:`ivifbench.metrics.nabf.nabf`)."""
    g_f, a_f = _nabf_edges(f)
    edges = [_nabf_edges(s) for s in (a, b)]
    artefact = (g_f > edges[0][0]) & (g_f > edges[1][0])
    loss = torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)
    weight = torch.zeros_like(loss)
    for g_s, a_s in edges:
        w = torch.where(
            g_s >= nabf.EDGE_THRESHOLD,
            torch.pow(g_s, nabf.WEIGHT_EXPONENT),
            torch.full_like(g_s, nabf.WEIGHT_MIN),
        )
        term = (1 - _nabf_preservation(g_s, a_s, g_f, a_f)) * w
        loss += _sums(torch.where(artefact, term, torch.zeros_like(term)))
        weight += _sums(w)
    return loss / weight


def nabf_tang_order(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Tang's call ``analysis_nabf(IR, VIS, F)``: IR in the fused role
    (``conventions._nabf_tang_argument_order``)."""
    return nabf_(a, b, f)


# --- SSIM -------------------------------------------------------------------------------------


def _ssim_mean(
    mean: Callable[[Tensor], Tensor], f: Tensor, s: Tensor, c1: float, c2_raw: float
) -> Tensor:
    """Mean SSIM map of ``f`` and ``s`` from local means ``mean`` ('valid' windows), with the
    operation order of ``ssim._ssim_map_sum`` (C2 against raw moments: the variance terms
    cancel catastrophically, so the grouping shows at 1e-9)."""
    mu_s, mu_f = mean(s), mean(f)
    product = mu_s * mu_f
    squares = mu_s * mu_s + mu_f * mu_f
    numerator = (product * 2.0 + c1) * ((mean(s * f) - product) * 2.0 + c2_raw)
    value = numerator / ((squares + c1) * (mean(s * s) + mean(f * f) - squares + c2_raw))
    return value.mean(dim=(-2, -1))


def ssim_skimage(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """CDDFuse SSIM(F, A) + SSIM(F, B) (:func:`ivifbench.metrics.ssim.ssim_skimage`)."""
    n = ssim.SKIMAGE_WINDOW
    cov_norm = n * n / (n * n - 1.0)

    def mean(x: Tensor) -> Tensor:
        return _box_mean_valid(x, n)

    c1 = (ssim.K1 * ssim.SKIMAGE_DATA_RANGE) ** 2
    c2_raw = (ssim.K2 * ssim.SKIMAGE_DATA_RANGE) ** 2 / cov_norm
    return _ssim_mean(mean, f, a, c1, c2_raw) + _ssim_mean(mean, f, b, c1, c2_raw)


def ssim_vifb_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """VIFB SSIM(VIS, F) + SSIM(IR, F) (:func:`ivifbench.metrics.ssim.ssim_vifb`)."""
    taps = gaussian_window_1d(ssim.VIFB_WINDOW, ssim.VIFB_SIGMA)
    c1, c2 = (ssim.K1 * ssim.VIFB_L) ** 2, (ssim.K2 * ssim.VIFB_L) ** 2

    def mean(x: Tensor) -> Tensor:
        return _filter_valid(x, taps)

    return _ssim_mean(mean, f, b, c1, c2) + _ssim_mean(mean, f, a, c1, c2)


# --- moments and pixel errors -----------------------------------------------------------------


def correlation_coefficient(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """CC: mean Pearson r of (A, F) and (B, F)."""
    return (_pearson(a, f) + _pearson(b, f)) / 2.0


def sum_of_correlation_differences(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """SCD: corr(F - B, A) + corr(F - A, B)."""
    return _pearson(f - b, a) + _pearson(f - a, b)


def mean_squared_error(f: Tensor, a: Tensor, b: Tensor, *, unit_divisor: float = 1.0) -> Tensor:
    """MSE (:func:`ivifbench.metrics.squared_error.mean_squared_error`)."""
    if unit_divisor != 1.0:
        f, a, b = f / unit_divisor, a / unit_divisor, b / unit_divisor
    pixels = f[0].numel()
    return (_squared_error_sum(a, f) / pixels + _squared_error_sum(b, f) / pixels) / 2.0


def peak_signal_to_noise_ratio(
    f: Tensor, a: Tensor, b: Tensor, *, peak: float | None = None, unit_divisor: float = 1.0
) -> Tensor:
    """PSNR in dB (:func:`ivifbench.metrics.squared_error.peak_signal_to_noise_ratio`)."""
    mse = mean_squared_error(f, a, b, unit_divisor=unit_divisor)
    top = f.amax(dim=(-2, -1)) / unit_divisor if peak is None else torch.full_like(mse, peak)
    return 10.0 * torch.log10(top * top / mse)


def root_mean_squared_error_vifb(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """VIFB RMSE: mean over the sources of sqrt(SSE) / (MN)."""
    pixels = f[0].numel()
    return (
        torch.sqrt(_squared_error_sum(b, f)) / pixels
        + torch.sqrt(_squared_error_sum(a, f)) / pixels
    ) / 2.0


def peak_signal_to_noise_ratio_vifb(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """VIFB PSNR: 20 log10(255 / sqrt(RMSE_vifb)) dB."""
    return 20.0 * torch.log10(255.0 / torch.sqrt(root_mean_squared_error_vifb(f, a, b)))


# --- Chen-Blum (Qcb) and Chen-Varshney (Qcv): frequency-domain CSF filters --------------------


def _normalize1(x: Tensor) -> Tensor:
    """Z. Liu's ``normalize1`` per image (``matlab_compat.minmax_stretch_255``): all-zero
    unchanged, other constants NaN (0/0)."""
    lo, hi = _extremes(x)
    stretched = _matlab_round((x - lo) / (hi - lo) * 255)
    return torch.where((hi == 0) & (lo == 0), x, stretched)


def _csf_filter(x: Tensor, csf: Tensor) -> Tensor:
    """Real image filtered by a CSF given on the ``rfft2`` half plane (torch.fft)."""
    return torch.fft.irfft2(torch.fft.rfft2(x) * csf, s=x.shape[-2:])


def _masked_contrast(
    x: Tensor, csf: Tensor, factors: list[tuple[np.ndarray, np.ndarray]]
) -> Tensor:
    """C^3 / (C^2 + Z), C = |G_2 * I / G_4 * I - 1|, I the stretched CSF-filtered image."""
    filtered = _csf_filter(_normalize1(x), csf)
    # sepFilter2D(kernelX, kernelY) factors: kernelX along rows, kernelY along columns.
    centre, surround = (_filter_same(filtered, ky, kx) for kx, ky in factors)
    contrast = torch.abs(centre / surround - 1)
    squared = contrast * contrast
    return squared * contrast / (squared + qcb.MASK_Z)


def qcb_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Chen-Blum quality (:func:`ivifbench.metrics.qcb.qcb`); NaN where VIFB gives NaN."""
    rows, cols = f.shape[-2:]
    csf = _tensor(qcb._dog_csf(rows, cols), f)
    factors = [qcb._gaussian_factors(s) for s in qcb.CONTRAST_SIGMAS]
    c_f, c_ir, c_vis = (_masked_contrast(x, csf, factors) for x in (f, a, b))
    saliency_vis, saliency_ir = c_vis * c_vis, c_ir * c_ir
    total = saliency_vis + saliency_ir
    quality = saliency_vis / total * (torch.minimum(c_vis, c_f) / torch.maximum(c_vis, c_f))
    quality = quality + saliency_ir / total * (torch.minimum(c_ir, c_f) / torch.maximum(c_ir, c_f))
    value = _sums(quality) / (rows * cols)
    degenerate = torch.zeros_like(value, dtype=torch.bool)
    for c in (c_f, c_ir, c_vis):
        degenerate |= ((c == 0) | (c == math.inf)).flatten(1).any(dim=1)
    return torch.where(degenerate, torch.full_like(value, math.nan), value)


def _block_sums(x: Tensor) -> Tensor:
    """Sums over 16 x 16 blocks, zero padding at the bottom/right (MATLAB ``blkproc``)."""
    batch, rows, cols = x.shape
    brows, bcols = -(-rows // qcv.BLOCK), -(-cols // qcv.BLOCK)
    padded = F.pad(x, (0, bcols * qcv.BLOCK - cols, 0, brows * qcv.BLOCK - rows))
    return padded.reshape(batch, brows, qcv.BLOCK, bcols, qcv.BLOCK).sum(dim=(2, 4))


def qcv_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Chen-Varshney quality, (0-255)^2 (:func:`ivifbench.metrics.qcv.qcv`)."""
    csf = _tensor(qcv._mannos_sakrison_csf(*f.shape[-2:]), f)
    f, a, b = (_normalize1(x) for x in (f, a, b))

    def saliency(s: Tensor) -> Tensor:
        return _block_sums(torch.pow(_magnitude(*_sobel(s, "constant")), qcv.SALIENCY_ALPHA))

    def distortion(s: Tensor) -> Tensor:
        return _block_sums(_csf_filter(s - f, csf) ** 2) / (qcv.BLOCK * qcv.BLOCK)

    saliency_vis, saliency_ir = saliency(b), saliency(a)
    weighted = saliency_vis * distortion(b) + saliency_ir * distortion(a)
    return _sums(weighted) / _sums(saliency_vis + saliency_ir)


# --- Z. Liu's information metrics (NCIE, TE) and Tang's MS_SSIM ---------------------------------


def _stretched_codes(images: tuple[Tensor, ...]) -> tuple[list[Tensor], Tensor]:
    """``normalize1`` levels of each image as int64 codes (B, N), and per triple whether one
    image was a nonzero constant (NaN levels: Liu's code fails, the value is NaN)."""
    stretched = [_normalize1(x).flatten(1) for x in images]
    failed = torch.stack([torch.isnan(x).any(dim=1) for x in stretched]).any(dim=0)
    return [torch.nan_to_num(x, nan=0.0).long() for x in stretched], failed


def _joint_probabilities(x: Tensor, y: Tensor) -> Tensor:
    """p(x = i, y = j) per triple, (B, 256, 256), from int64 codes (B, N)."""
    counts = _histograms(x * LEVELS + y, LEVELS * LEVELS)
    return (counts / counts.sum(dim=1, keepdim=True)).view(-1, LEVELS, LEVELS)


def ncie_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """NCIE (:func:`ivifbench.metrics.liu_information.ncie`)."""
    (fc, ac, bc), failed = _stretched_codes((f, a, b))

    def correlation(x: Tensor, y: Tensor) -> Tensor:
        joint = _joint_probabilities(x, y)
        marginals = _entropy(joint.sum(dim=1), torch.log2) + _entropy(joint.sum(dim=2), torch.log2)
        return (marginals - _entropy(joint.flatten(1), torch.log2)) / math.log2(LEVELS)

    ab, af, bf = correlation(ac, bc), correlation(ac, fc), correlation(bc, fc)
    one = torch.ones_like(ab)
    matrix = torch.stack(
        [torch.stack(row, dim=1) for row in ((one, ab, af), (ab, one, bf), (af, bf, one))], dim=1
    )
    eigenvalues = torch.linalg.eigvalsh(matrix)
    k = 3
    value = 1 + (eigenvalues * torch.log2(eigenvalues / k) / k).sum(dim=1) / math.log2(LEVELS)
    return torch.where(failed, torch.full_like(value, math.nan), value)


def tsallis_entropy_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """TE, q = 1.85 (:func:`ivifbench.metrics.liu_information.tsallis_entropy`), the marginals
    paired as Liu's code pairs them."""
    (fc, ac, bc), failed = _stretched_codes((f, a, b))
    q = liu_information.TSALLIS_Q
    total = torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)
    for source in (ac, bc):
        joint = _joint_probabilities(source, fc)
        p_fused, p_source = joint.sum(dim=1), joint.sum(dim=2)
        product = p_fused.unsqueeze(2) * p_source.unsqueeze(1)
        used = (product != 0) & (joint != 0)
        safe = torch.where(used, product, torch.ones_like(product))
        terms = torch.where(used, joint**q / safe ** (q - 1), torch.zeros_like(joint))
        total = total + (1 - terms.flatten(1).sum(dim=1)) / (1 - q)
    return torch.where(failed, torch.full_like(total, math.nan), total)


def _mef_scale_quality(a: Tensor, b: Tensor, f: Tensor) -> Tensor:
    """Mean MEF-SSIM map of one scale (``mef_ssim._scale_quality``)."""
    size, eps = mef_ssim.WINDOW, mef_ssim.EPS
    n2 = float(size * size)
    mu_a, mu_b = _box_mean_valid(a, size), _box_mean_valid(b, size)
    var_a = _box_mean_valid(a * a, size) - mu_a * mu_a
    var_b = _box_mean_valid(b * b, size) - mu_b * mu_b
    cov_ab = _box_mean_valid(a * b, size) - mu_a * mu_b
    norm_a = torch.sqrt(torch.clamp(n2 * var_a, min=0))
    norm_b = torch.sqrt(torch.clamp(n2 * var_b, min=0))
    strength_a, strength_b = norm_a + mef_ssim.STRENGTH_OFFSET, norm_b + mef_ssim.STRENGTH_OFFSET
    norm_sum = torch.sqrt(torch.clamp(n2 * (var_a + var_b + 2 * cov_ab), min=0))
    consistency = (norm_sum + eps) / (norm_a + norm_b + eps)
    consistency = torch.where(consistency > 1, torch.full_like(consistency, 1 - eps), consistency)
    consistency = torch.where(consistency < 0, torch.full_like(consistency, eps), consistency)
    exponent = torch.clamp(torch.tan(math.pi / 2 * consistency), max=mef_ssim.MAX_EXPONENT)
    weight_a = (strength_a / size) ** exponent + eps
    weight_b = (strength_b / size) ** exponent + eps
    total = weight_a + weight_b
    coef_a, coef_b = weight_a / total / strength_a, weight_b / total / strength_b
    r_norm = torch.sqrt(
        torch.clamp(
            n2 * (coef_a**2 * var_a + coef_b**2 * var_b + 2 * coef_a * coef_b * cov_ab), min=0
        )
    )
    positive = r_norm > 0
    high = torch.maximum(strength_a, strength_b)
    rescale = torch.where(positive, high / torch.where(positive, r_norm, 1.0), 1.0)
    coef_a, coef_b = coef_a * rescale, coef_b * rescale
    taps = gaussian_window_1d(mef_ssim.WINDOW, mef_ssim.SIGMA)
    g_a, g_b, g_f = (_filter_valid(x, taps) for x in (a, b, f))

    def g_cov(x: Tensor, y: Tensor, gx: Tensor, gy: Tensor) -> Tensor:
        return _filter_valid(x * y, taps) - gx * gy

    var_r = (
        coef_a**2 * g_cov(a, a, g_a, g_a)
        + coef_b**2 * g_cov(b, b, g_b, g_b)
        + 2 * coef_a * coef_b * g_cov(a, b, g_a, g_b)
    )
    cov_rf = coef_a * g_cov(a, f, g_a, g_f) + coef_b * g_cov(b, f, g_b, g_f)
    quality = (2 * cov_rf + mef_ssim.C) / (var_r + g_cov(f, f, g_f, g_f) + mef_ssim.C)
    return quality.mean(dim=(-2, -1))


def _downsample(x: Tensor) -> Tensor:
    """2 x 2 block means, the last row / column repeated when odd (``mef_ssim._downsample``)."""
    rows, cols = x.shape[-2:]
    p = F.pad(x.unsqueeze(1), (0, cols % 2, 0, rows % 2), mode="replicate").squeeze(1)
    return (p[:, 0::2, 0::2] + p[:, 1::2, 0::2] + p[:, 0::2, 1::2] + p[:, 1::2, 1::2]) / 4


def ms_ssim_tang_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Tang's MS_SSIM (:func:`ivifbench.metrics.mef_ssim.ms_ssim_tang`): the real part of
    prod Q_l ^ w_l in complex arithmetic, as MATLAB."""
    qualities = []
    for level in range(len(mef_ssim.SCALE_WEIGHTS)):
        if level:
            f, a, b = _downsample(f), _downsample(a), _downsample(b)
        qualities.append(_mef_scale_quality(a, b, f))
    weights = _tensor(mef_ssim.SCALE_WEIGHTS, f).to(torch.complex128)
    powers = torch.stack(qualities, dim=1).to(torch.complex128) ** weights
    return torch.prod(powers, dim=1).real


# --- Z. Liu's local-SSIM metrics: Piella's Q0, Qw, Qe, Yang's Qy, Cvejic's Qc -----------------


class _WindowStats:
    """Gaussian 'valid' window means and second moments of named (B, H, W) images, as
    :class:`ivifbench.metrics.local_ssim.WindowStats`: fast separable sums on the device, then
    the fragile windows (flat: ratios of round-off) recomputed on the host in Octave's order
    by the numpy code itself (:func:`local_ssim.octave_window_moments`), so that they are
    bit-identical to the numpy path."""

    def __init__(
        self, images: dict[str, Tensor], pairs: list[tuple[str, str]], size: int, sigma: float
    ) -> None:
        self.images, self.pairs = images, pairs
        self.window = local_ssim.fspecial_gaussian(size, sigma)
        taps = gaussian_window_1d(size, sigma)
        self.mean = {name: _filter_valid(x, taps) for name, x in images.items()}
        self.second = {(x, y): _filter_valid(images[x] * images[y], taps) for x, y in pairs}

    def covariance(self, x: str, y: str) -> Tensor:
        return self.second[x, y] - self.mean[x] * self.mean[y]

    def refine(self, fragile: Tensor) -> None:
        """Recompute every map at the ``fragile`` windows (B, h, w), image by image."""
        for index in torch.nonzero(fragile.flatten(1).any(dim=1)).flatten().tolist():
            rows, cols = (t.cpu().numpy() for t in torch.nonzero(fragile[index], as_tuple=True))
            host = {name: x[index].cpu().numpy() for name, x in self.images.items()}
            means, seconds = local_ssim.octave_window_moments(
                host, self.pairs, self.window, rows, cols
            )
            at = (index, torch.from_numpy(rows), torch.from_numpy(cols))
            for name, values in means.items():
                self.mean[name][at] = _tensor(values, fragile)
            for pair, values in seconds.items():
                self.second[pair][at] = _tensor(values, fragile)

    def ssim_map(self, x: str, y: str, c1: float, c2: float) -> Tensor:
        """Wang's SSIM map in ``local_ssim.ssim_map``'s order of operations."""
        mu_x, mu_y = self.mean[x], self.mean[y]
        mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
        var_x = self.second[x, x] - mu_xx
        var_y = self.second[y, y] - mu_yy
        cov = self.second[x, y] - mu_xy
        return ((2 * mu_xy + c1) * (2 * cov + c2)) / ((mu_xx + mu_yy + c1) * (var_x + var_y + c2))


def _piella_maps(f: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(local quality map, var A, var B) of ``piella._weighted_maps``."""
    pairs = [("a", "a"), ("b", "b"), ("f", "f"), ("f", "a"), ("f", "b")]
    stats = _WindowStats({"a": a, "b": b, "f": f}, pairs, piella.WINDOW, piella.SIGMA)
    stats.refine(stats.covariance("a", "a") + stats.covariance("b", "b") < local_ssim.FRAGILE)
    var_a, var_b = stats.covariance("a", "a"), stats.covariance("b", "b")
    both_flat = (var_a + var_b) == 0
    var_a, var_b = (
        torch.where(both_flat, var_a + 0.5, var_a),
        torch.where(both_flat, var_b + 0.5, var_b),
    )
    weight = var_a / (var_a + var_b)
    quality = weight * stats.ssim_map("f", "a", piella.C1, piella.C2)
    quality = quality + (1 - weight) * stats.ssim_map("f", "b", piella.C1, piella.C2)
    return quality, var_a, var_b


def _piella_weighted(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Piella's Qw sum of the local qualities weighted by max(var A, var B) / its sum."""
    quality, var_a, var_b = _piella_maps(f, a, b)
    saliency = torch.maximum(var_a, var_b)
    return _sums((saliency / _sums(saliency).view(-1, 1, 1)) * quality)


def piella_q0_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Piella's Q0 (:func:`ivifbench.metrics.piella.piella_q0`)."""
    return _piella_maps(f, a, b)[0].mean(dim=(-2, -1))


def piella_qw_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Piella's Qw (:func:`ivifbench.metrics.piella.piella_qw`)."""
    return _piella_weighted(f, a, b)


def _prewitt_magnitude(x: Tensor) -> Tensor:
    """sqrt(gx^2 + gy^2), gx = left - right, gy = top - bottom column / row sums of the 3 x 3
    neighbourhood, zero padding (``piella._prewitt_magnitude``; exact on integer data)."""
    p = F.pad(x, (1, 1, 1, 1))
    rows3 = p[:, :-2] + p[:, 1:-1] + p[:, 2:]
    cols3 = p[..., :-2] + p[..., 1:-1] + p[..., 2:]
    return _magnitude(rows3[..., :-2] - rows3[..., 2:], cols3[:, :-2] - cols3[:, 2:])


def piella_qe_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Piella's Qe, alpha 1 (:func:`ivifbench.metrics.piella.piella_qe`)."""
    return _piella_weighted(*(_prewitt_magnitude(x) for x in (f, a, b)))


def _yang_stats(f: Tensor, a: Tensor, b: Tensor) -> _WindowStats:
    pairs = [("a", "a"), ("b", "b"), ("f", "f"), ("a", "b"), ("a", "f"), ("b", "f")]
    return _WindowStats({"a": a, "b": b, "f": f}, pairs, yang_cvejic.WINDOW, yang_cvejic.SIGMA)


def _flat_pair(stats: _WindowStats, *pairs: tuple[str, str]) -> Tensor:
    variance = {name: stats.covariance(name, name) for name in "abf"}
    flat = [variance[x] + variance[y] < local_ssim.FRAGILE for x, y in pairs]
    return torch.stack(flat).any(dim=0)


def yang_qy_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Yang's Qy (:func:`ivifbench.metrics.yang_cvejic.yang_qy`), NaN spread as Liu's masks."""
    c1, c2 = yang_cvejic.C1, yang_cvejic.C2
    stats = _yang_stats(f, a, b)
    stats.refine(_flat_pair(stats, ("a", "b"), ("a", "f"), ("b", "f")))
    ssim_ab, ssim_af, ssim_bf = (stats.ssim_map(x, y, c1, c2) for x, y in ("ab", "af", "bf"))
    var_a, var_b = stats.covariance("a", "a"), stats.covariance("b", "b")
    redundant = (ssim_ab >= yang_cvejic.REDUNDANT).to(f.dtype)
    weight = var_a / (var_a + var_b)
    quality = (weight * ssim_af + (1 - weight) * ssim_bf) * redundant
    quality = quality + torch.maximum(ssim_af, ssim_bf) * (1 - redundant)
    return quality.mean(dim=(-2, -1))


def cvejic_qc_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Cvejic's Qc (:func:`ivifbench.metrics.yang_cvejic.cvejic_qc`)."""
    c1, c2 = yang_cvejic.C1, yang_cvejic.C2
    stats = _yang_stats(f, a, b)
    cov_af, cov_bf = stats.covariance("a", "f"), stats.covariance("b", "f")
    near_zero = torch.minimum(torch.abs(cov_af), torch.abs(cov_bf)) < local_ssim.FRAGILE
    near_zero |= torch.abs(cov_af + cov_bf) < local_ssim.FRAGILE
    stats.refine(near_zero | _flat_pair(stats, ("a", "f"), ("b", "f")))
    cov_af, cov_bf = stats.covariance("a", "f"), stats.covariance("b", "f")
    share = cov_af / (cov_af + cov_bf)
    quality = share * stats.ssim_map("a", "f", c1, c2)
    quality = quality + (1 - share) * stats.ssim_map("b", "f", c1, c2)
    quality = torch.where(share < 0, torch.zeros_like(quality), quality)
    quality = torch.where(share > 1, torch.ones_like(quality), quality)
    return quality.mean(dim=(-2, -1))


# --- Zhao's Qp (Kovesi's phase congruency) ------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _phase_bank(rows: int, cols: int, device: torch.device) -> tuple[Tensor, Tensor, np.ndarray]:
    """(log-Gabor (S, H, W), angular spreads (O, H, W), noise constants (O, 3)) of
    :func:`ivifbench.metrics.phase_congruency.filter_bank` on ``device``."""
    bank = phase_congruency.filter_bank(rows, cols)
    as_tensor = lambda x: torch.from_numpy(np.array(x)).to(device)  # noqa: E731
    return as_tensor(bank.log_gabor), as_tensor(bank.spread), bank.noise


def _matlab_median(x: Tensor) -> Tensor:
    """MATLAB median over the last dimension (mean of the two middle values for even counts;
    ``torch.median`` would give the lower one)."""
    n = x.shape[-1]
    if n % 2:
        return x.kthvalue((n + 1) // 2, dim=-1).values
    return (x.kthvalue(n // 2, dim=-1).values + x.kthvalue(n // 2 + 1, dim=-1).values) / 2


def _phase_congruency(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(PC, maximum moment, minimum moment) of a (B, H, W) batch, as
    :func:`ivifbench.metrics.phase_congruency.phase_congruency`."""
    pcm = phase_congruency
    batch, rows, cols = x.shape
    log_gabor, spreads, noise = _phase_bank(rows, cols, x.device)
    spectrum = torch.fft.fft2(x)[:, None]
    total_energy = torch.zeros_like(x)
    total_an = torch.zeros_like(x)
    covx2, covy2, covxy = (torch.zeros_like(x) for _ in range(3))
    for o in range(pcm.NORIENT):
        eo = torch.fft.ifft2(spectrum * (log_gabor * spreads[o]))  # (B, S, H, W)
        even, odd = eo.real, eo.imag
        amplitude = eo.abs()
        sum_an = amplitude.sum(dim=1)
        x_energy = torch.sqrt(even.sum(dim=1) ** 2 + odd.sum(dim=1) ** 2) + pcm.EPSILON
        mean_e = (even.sum(dim=1) / x_energy)[:, None]
        mean_o = (odd.sum(dim=1) / x_energy)[:, None]
        energy = (even * mean_e + odd * mean_o - (even * mean_o - odd * mean_e).abs()).sum(dim=1)
        median = _matlab_median((amplitude[:, 0] ** 2).flatten(1))
        em_n, sum_an2, sum_aiaj = (float(v) for v in noise[o])
        noise_power = (-median / math.log(0.5)) / em_n
        tau = torch.sqrt((2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj) / 2)
        threshold = tau * math.sqrt(math.pi / 2) + pcm.NOISE_K * torch.sqrt(
            (2 - math.pi / 2) * tau**2
        )
        threshold = (threshold / pcm.NOISE_RESCALE)[:, None, None]
        energy = torch.fmax(energy - threshold, torch.zeros_like(energy))  # MATLAB max
        width = sum_an / (amplitude.amax(dim=1) + pcm.EPSILON) / pcm.NSCALE
        weighted = energy / (1 + torch.exp((pcm.CUT_OFF - width) * pcm.SIGMOID_G))
        total_energy += weighted
        total_an += sum_an
        pc = weighted / sum_an  # 0/0 = NaN where every response is 0, as MATLAB
        angle = o * math.pi / pcm.NORIENT
        covx, covy = pc * math.cos(angle), pc * math.sin(angle)
        covx2 += covx**2
        covy2 += covy**2
        covxy += covx * covy
    covx2, covy2, covxy = covx2 / (pcm.NORIENT / 2), covy2 / (pcm.NORIENT / 2), covxy / pcm.NORIENT
    denom = torch.sqrt(covxy**2 + (covx2 - covy2) ** 2) + pcm.EPSILON
    pc = total_energy / (total_an + pcm.EPSILON)
    return pc, (covy2 + covx2 + denom) / 2, (covy2 + covx2 - denom) / 2


def _zhao_correlation(
    maps: tuple[Tensor, Tensor, Tensor], fused: Tensor, masks: tuple[Tensor, Tensor, Tensor]
) -> Tensor:
    """Liu's ``correlation_coeffcient`` per batch item (see :mod:`.metrics.phase_congruency`)."""
    taps = gaussian_window_1d(phase_congruency.WINDOW, phase_congruency.SIGMA)
    c = phase_congruency.C
    mu_f = _filter_same(fused, taps, taps)
    var_f = _filter_same(fused * fused, taps, taps) - mu_f * mu_f
    best = None
    for image, mask in zip(maps, masks, strict=True):
        x = image * mask
        mu = _filter_same(x, taps, taps)
        var = _filter_same(x * x, taps, taps) - mu * mu
        cov = _filter_same(x * fused, taps, taps) - mu * mu_f
        value = torch.where(mask, (cov + c) / (torch.sqrt((var * var_f).abs()) + c), mu * 0)
        best = value if best is None else torch.fmax(best, value)  # MATLAB max ignores NaN
    return best.sum(dim=(-2, -1)) / masks[2].sum(dim=(-2, -1)).to(fused.dtype)


def zhao_qp_(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Zhao's Qp (:func:`ivifbench.metrics.phase_congruency.zhao_qp`)."""
    pa, pb, pf = (_phase_congruency(x) for x in (a, b, f))
    take_a = pa[0] > pb[0]
    threshold = phase_congruency.FEATURE_THRESHOLD
    pc_max = take_a * pa[0] + ~take_a * pb[0]
    masks = (pa[0] > threshold, pb[0] > threshold, pc_max > threshold)
    value = torch.ones(f.shape[0], dtype=f.dtype, device=f.device)
    for x1, x2, xf in zip(pa, pb, pf, strict=True):
        value = value * _zhao_correlation((x1, x2, take_a * x1 + ~take_a * x2), xf, masks)
    return value


#: numpy metric function -> its torch twin (same keyword options).
TORCH_METRICS: dict[Callable[..., float], Callable[..., Tensor]] = {
    information.entropy: entropy,
    moments.standard_deviation: standard_deviation,
    gradient.spatial_frequency: spatial_frequency,
    gradient.average_gradient: average_gradient,
    edge_intensity.edge_intensity: edge_intensity_,
    information.mutual_information: mutual_information,
    cross_entropy.cross_entropy: cross_entropy_,
    vif.visual_information_fidelity: visual_information_fidelity,
    viff.viff: viff_,
    qabf.qabf: q_abf,
    nabf.nabf: nabf_,
    TANG.implementations["Nabf"].function: nabf_tang_order,
    ssim.ssim_skimage: ssim_skimage,
    ssim.ssim_vifb: ssim_vifb_,
    moments.correlation_coefficient: correlation_coefficient,
    moments.sum_of_correlation_differences: sum_of_correlation_differences,
    squared_error.peak_signal_to_noise_ratio: peak_signal_to_noise_ratio,
    squared_error.mean_squared_error: mean_squared_error,
    squared_error.root_mean_squared_error_vifb: root_mean_squared_error_vifb,
    squared_error.peak_signal_to_noise_ratio_vifb: peak_signal_to_noise_ratio_vifb,
    qcb.qcb: qcb_,
    qcv.qcv: qcv_,
    liu_information.ncie: ncie_,
    liu_information.tsallis_entropy: tsallis_entropy_,
    mef_ssim.ms_ssim_tang: ms_ssim_tang_,
    piella.piella_q0: piella_q0_,
    piella.piella_qw: piella_qw_,
    piella.piella_qe: piella_qe_,
    yang_cvejic.yang_qy: yang_qy_,
    yang_cvejic.cvejic_qc: cvejic_qc_,
    phase_congruency.zhao_qp: zhao_qp_,
}


# --- entry points -----------------------------------------------------------------------------


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a torch device; :class:`MetricInputError` if it is not available."""
    try:
        resolved = torch.device(device or "cpu")
    except RuntimeError as exc:
        raise MetricInputError(f"device: {exc}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise MetricInputError(f"device: {device} requested but CUDA is not available here")
    return resolved


def covered(convention: str, metrics: str | Iterable[str] | None = None) -> list[str]:
    """The requested metrics (see :func:`ivifbench.compute`) that the torch backend computes."""
    conv = get_convention(convention)
    return [
        name
        for name in resolve_metrics(conv, metrics)
        if conv.implementations[name].function in TORCH_METRICS
    ]


def _uint8_batch(images, name: str) -> np.ndarray:
    """(B, H, W) or (B, H, W, 3) uint8 numpy data of a tensor or array."""
    array = images.cpu().numpy() if isinstance(images, Tensor) else np.asarray(images)
    if array.dtype != np.uint8:
        raise MetricInputError(f"{name}: expected uint8 0-255 data, got {array.dtype}")
    if not (array.ndim == 3 or (array.ndim == 4 and array.shape[-1] == 3)):
        raise MetricInputError(f"{name}: shape {array.shape}; expected (B, H, W) or (B, H, W, 3)")
    return array


def _channel_planes(conv: Convention, arrays: list[np.ndarray], device: torch.device) -> list:
    """Per-channel (fused, ir, vis) float64 planes on ``device``, as
    ``computation._channel_planes``: gray conventions convert colour with ``to_gray``; ``vifb``
    gives one plane triple per fused channel (gray IR shared; colour VIS required)."""

    def plane(array: np.ndarray) -> Tensor:
        # uint8 over the bus (8x less than float64), converted on the device.
        return torch.from_numpy(np.ascontiguousarray(array)).to(device).double()

    fused, ir, vis = arrays
    if conv.to_gray is not None:
        gray = [
            np.stack([conv.to_gray(image) for image in x]) if x.ndim == 4 else x for x in arrays
        ]
        return [tuple(plane(x) for x in gray)]
    if fused.ndim == 3:
        if ir.ndim == 4 or vis.ndim == 4:
            raise MetricInputError(
                "colour source with a gray fused image; the vifb convention evaluates channel "
                "by channel, so give a colour fused image or gray sources"
            )
        return [tuple(plane(x) for x in arrays)]
    if vis.ndim == 3:
        raise MetricInputError(
            "gray VIS with a colour fused image; the vifb convention computes metric(VIS_k, IR, "
            "F_k) per channel k and needs a colour VIS image"
        )
    return [
        (plane(fused[..., k]), plane(ir[..., k] if ir.ndim == 4 else ir), plane(vis[..., k]))
        for k in range(3)
    ]


def _evaluate(function: Callable[..., Tensor], impl, planes: list[Planes]) -> Tensor:
    """One metric over the channel planes, as ``computation._evaluate``: side by side fused
    channels, or the mean of the per-channel values."""

    def call(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
        args = (f, a, b) if impl.uses_sources else (f,)
        return function(*args, **impl.options)

    if len(planes) > 1 and impl.colour_layout == "side_by_side":
        return call(torch.cat([p[0] for p in planes], dim=-1), planes[0][1], planes[0][2])
    values = [call(*p) for p in planes]
    return values[0] if len(values) == 1 else sum(values[1:], values[0]) / len(values)


def compute_batch(
    fused,
    ir,
    vis,
    metrics: str | Iterable[str] | None = None,
    convention: str = DEFAULT_CONVENTION,
    device: str | torch.device | None = None,
) -> dict[str, Tensor]:
    """Metric values of B fusion triples, ``{name: float64 tensor of shape (B,)}``.

    ``fused``, ``ir``, ``vis``: uint8 tensors or arrays of shape (B, H, W) or (B, H, W, 3),
    one shape per argument (colour is handled as :func:`ivifbench.compute` does under the
    convention). ``device``: where the maths runs (``"cpu"`` default, ``"cuda"``...). Metrics
    not covered (see the module docstring) and unavailable devices raise
    :class:`MetricInputError`.
    """
    conv = get_convention(convention)
    names = resolve_metrics(conv, metrics)
    missing = [name for name in names if name not in covered(convention, names)]
    if missing:
        raise MetricInputError(
            f"metrics: {', '.join(missing)} not available in the torch backend under "
            f"convention {conv.name!r} (use ivifbench.compute)"
        )
    where = resolve_device(device)
    arrays = [_uint8_batch(x, n) for x, n in ((fused, "fused"), (ir, "ir"), (vis, "vis"))]
    if len({a.shape[:3] for a in arrays}) != 1:
        raise MetricInputError(f"shapes differ: {', '.join(str(a.shape) for a in arrays)}")
    side = min(arrays[0].shape[1:3])
    too_small = [n for n in names if side < conv.implementations[n].min_side]
    if too_small:
        raise MetricInputError(f"images too small ({side} px) for {', '.join(too_small)}")
    planes = _channel_planes(conv, arrays, where)
    return {
        name: _evaluate(
            TORCH_METRICS[conv.implementations[name].function], conv.implementations[name], planes
        )
        for name in names
    }
