"""``compute_batch``: metric values of a batch of fusion triples with torch (CPU or GPU).

float64 throughout, the same definitions as the numpy metrics in :mod:`ivifbench.metrics`
(values agree to 1e-8 relative in ``tests/test_torch_backend.py``). Covered: the gray
conventions (``cddfuse``, ``tang``) and their metrics EN, SD, SF, AG, MI, VIF, Qabf, SSIM, SCD,
CC, PSNR and MSE; not covered (``MetricInputError``): ``vifb`` (per-channel evaluation),
Nabf and VIFF.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from ivifbench.computation import resolve_metrics
from ivifbench.conventions import DEFAULT_CONVENTION, get_convention
from ivifbench.errors import MetricInputError
from ivifbench.metrics import gradient, information, moments, qabf, squared_error, ssim, vif
from ivifbench.metrics.matlab_compat import gaussian_window_1d

Tensor = torch.Tensor


def _gray_batch(images, to_gray, device: torch.device, name: str) -> Tensor:
    """(B, H, W) float64 0-255 on ``device`` from (B, H, W) or (B, H, W, 3) uint8 data."""
    array = images.cpu().numpy() if isinstance(images, Tensor) else np.asarray(images)
    if array.dtype != np.uint8:
        raise MetricInputError(f"{name}: expected uint8 0-255 data, got {array.dtype}")
    if array.ndim == 4 and array.shape[-1] == 3:
        array = np.stack([to_gray(image) for image in array])
    if array.ndim != 3:
        raise MetricInputError(f"{name}: shape {array.shape}; expected (B, H, W) or (B, H, W, 3)")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64)).to(device)


def _sums(x: Tensor) -> Tensor:
    return x.sum(dim=(-2, -1))


def _entropy(counts: Tensor, log: Callable[[Tensor], Tensor]) -> Tensor:
    """Entropy of each row of histograms (B, bins), empty bins skipped."""
    p = counts / counts.sum(dim=1, keepdim=True)
    safe = torch.where(p > 0, p, torch.ones_like(p))
    return -(torch.where(p > 0, p * log(safe), torch.zeros_like(p))).sum(dim=1)


def _codes(x: Tensor, name: str) -> Tensor:
    if not bool(((x == x.round()) & (x >= 0) & (x <= 255)).all()):
        raise ValueError(f"{name}: expected integer grey levels 0-255 (8-bit data)")
    return x.long()


def entropy(f: Tensor) -> Tensor:
    b = f.shape[0]
    codes = _codes(f, "EN: fused").reshape(b, -1)
    offset = torch.arange(b, device=f.device).unsqueeze(1) * 256
    counts = torch.bincount((codes + offset).ravel(), minlength=b * 256).reshape(b, 256)
    return _entropy(counts.double(), torch.log2)


def standard_deviation(f: Tensor) -> Tensor:
    return torch.sqrt(_sums((f - f.mean(dim=(-2, -1), keepdim=True)) ** 2) / f[0].numel())


def spatial_frequency(f: Tensor, *, divisor: str = "differences") -> Tensor:
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
    rows, cols = f.shape[-2:]
    gx, gy = _matlab_gradient(f)
    total = _sums(torch.sqrt((gx * gx + gy * gy) / 2.0))
    return total / ((rows - 1) * (cols - 1) if divisor == "(M-1)(N-1)" else rows * cols)


def mutual_information(
    f: Tensor, a: Tensor, b: Tensor, *, bits: bool = False, saturate_joint: bool = False
) -> Tensor:
    """MI(A, F) + MI(B, F) as :func:`ivifbench.metrics.information.mutual_information`."""
    batch = f.shape[0]
    log = torch.log2 if bits else torch.log
    offset = torch.arange(batch, device=f.device).unsqueeze(1)
    fc = _codes(f, "MI: fused").reshape(batch, -1)

    def histogram(codes: Tensor, bins: int) -> Tensor:
        flat = (codes + offset * bins).ravel()
        return torch.bincount(flat, minlength=batch * bins).reshape(batch, bins).double()

    f_entropy = _entropy(histogram(fc, 256), log)
    fj = fc.clamp(max=254) if saturate_joint else fc
    total = torch.zeros(batch, dtype=torch.float64, device=f.device)
    for name, source in (("ir", a), ("vis", b)):
        sc = _codes(source, f"MI: {name}").reshape(batch, -1)
        sj = sc.clamp(max=254) if saturate_joint else sc
        joint = histogram(fj * 256 + sj, 256 * 256)
        total += _entropy(histogram(sc, 256), log) + f_entropy - _entropy(joint, log)
    return total


def _filter_valid(x: Tensor, taps: Tensor) -> Tensor:
    """MATLAB filter2(taps' * taps, x, 'valid') of a (B, H, W) batch."""
    n = taps.numel()
    y = F.conv2d(x.unsqueeze(1), taps.view(1, 1, n, 1))
    return F.conv2d(y, taps.view(1, 1, 1, n)).squeeze(1)


def _vifp_terms(ref: Tensor, dist: Tensor, sigma_nsq: float) -> tuple[Tensor, Tensor]:
    num = torch.zeros(ref.shape[0], dtype=torch.float64, device=ref.device)
    den = torch.zeros_like(num)
    for scale, size in enumerate(vif.SCALE_WINDOWS):
        taps = torch.tensor(gaussian_window_1d(size, size / 5.0), device=ref.device)
        if scale > 0:
            ref = _filter_valid(ref, taps)[:, ::2, ::2]
            dist = _filter_valid(dist, taps)[:, ::2, ::2]
        mu_s, mu_f = _filter_valid(ref, taps), _filter_valid(dist, taps)
        e_ss, e_ff = _filter_valid(ref * ref, taps), _filter_valid(dist * dist, taps)
        e_sf = _filter_valid(ref * dist, taps)
        var_f = torch.clamp(e_ff - mu_f * mu_f, min=0.0)
        cov = e_sf - mu_s * mu_f
        var_s = torch.clamp(e_ss - mu_s * mu_s, min=0.0)
        gain = cov / (var_s + vif.EPS)
        noise = torch.clamp(var_f - gain * cov, min=vif.EPS)
        informative = (var_s >= vif.EPS) & (var_f >= vif.EPS) & (gain > 0)
        var_s = torch.where(var_s >= vif.EPS, var_s, torch.zeros_like(var_s))
        gain = torch.where(informative, gain, torch.zeros_like(gain))
        num += _sums(torch.log10(1.0 + gain * gain * var_s / (noise + sigma_nsq)))
        den += _sums(torch.log10(1.0 + var_s / sigma_nsq))
    return num, den


def visual_information_fidelity(
    f: Tensor, a: Tensor, b: Tensor, *, nan_as_one: bool = False
) -> Tensor:
    total = torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)
    for source in (a, b):
        num, den = _vifp_terms(source, f, 2.0)
        value = num / den
        if nan_as_one:
            value = torch.where(torch.isnan(value), torch.ones_like(value), value)
        total += value
    return total


def _sobel(x: Tensor) -> tuple[Tensor, Tensor]:
    """MATLAB conv2(x, h3, 'same') and conv2(x, h1, 'same') (zero padding): convolution =
    correlation with the flipped kernels."""
    h3 = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], dtype=x.dtype)
    h1 = torch.tensor([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]], dtype=x.dtype)
    weight = torch.stack([h3, h1]).unsqueeze(1).to(x.device)
    out = F.conv2d(x.unsqueeze(1), weight, padding=1)
    return out[:, 0], out[:, 1]


def _edges(x: Tensor) -> tuple[Tensor, Tensor]:
    sx, sy = _sobel(x)
    vertical = sx == 0
    angle = torch.atan(sy / torch.where(vertical, torch.ones_like(sx), sx))
    return torch.sqrt(sx * sx + sy * sy), torch.where(
        vertical, torch.full_like(sx, math.pi / 2), angle
    )


def q_abf(f: Tensor, a: Tensor, b: Tensor, *, input_scale: float = 1.0) -> Tensor:
    if input_scale != 1.0:
        f, a, b = f * input_scale, a * input_scale, b * input_scale
    g_f, a_f = _edges(f)
    numerator = torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)
    denominator = torch.zeros_like(numerator)
    for source in (a, b):
        g_s, a_s = _edges(source)
        high = torch.maximum(g_s, g_f)
        ratio = torch.minimum(g_s, g_f) / torch.where(high == 0, torch.ones_like(high), high)
        ratio = torch.where(g_s == g_f, g_f, ratio)
        strength = 1.0 + torch.exp((ratio - qabf.DG) * qabf.KG)
        slope, offset = -qabf.KA / (math.pi / 2), qabf.KA * (1.0 - qabf.DA)
        angle = 1.0 + torch.exp(torch.abs(a_s - a_f) * slope + offset)
        numerator += qabf.TG * qabf.TA * _sums(g_s / (strength * angle))
        denominator += _sums(g_s)
    return numerator / denominator


def ssim_skimage(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    n = ssim.SKIMAGE_WINDOW
    c1 = (ssim.K1 * ssim.SKIMAGE_DATA_RANGE) ** 2
    c2 = (ssim.K2 * ssim.SKIMAGE_DATA_RANGE) ** 2
    cov_norm = n * n / (n * n - 1.0)

    def mean(x: Tensor) -> Tensor:
        # Window sums, then one division: exact on integer data, as the compiled kernel.
        return F.avg_pool2d(x.unsqueeze(1), n, stride=1, divisor_override=1).squeeze(1) / (n * n)

    total = torch.zeros(f.shape[0], dtype=torch.float64, device=f.device)
    mu_f, e_ff = mean(f), mean(f * f)
    for source in (a, b):
        mu_s, e_ss, e_sf = mean(source), mean(source * source), mean(source * f)
        # The operation order of ssim._ssim_map_sum (c2 / cov_norm against raw moments): the
        # variance terms cancel catastrophically, so the grouping shows at 1e-9.
        c2_raw = c2 / cov_norm
        product = mu_s * mu_f
        squares = mu_s * mu_s + mu_f * mu_f
        numerator = (product * 2.0 + c1) * ((e_sf - product) * 2.0 + c2_raw)
        value = numerator / ((squares + c1) * (e_ss + e_ff - squares + c2_raw))
        total += value.mean(dim=(-2, -1))
    return total


def _pearson(x: Tensor, y: Tensor) -> Tensor:
    dx = x - x.mean(dim=(-2, -1), keepdim=True)
    dy = y - y.mean(dim=(-2, -1), keepdim=True)
    return _sums(dx * dy) / torch.sqrt(_sums(dx * dx) * _sums(dy * dy))


def correlation_coefficient(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return (_pearson(a, f) + _pearson(b, f)) / 2.0


def sum_of_correlation_differences(f: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return _pearson(f - b, a) + _pearson(f - a, b)


def mean_squared_error(f: Tensor, a: Tensor, b: Tensor, *, unit_divisor: float = 1.0) -> Tensor:
    if unit_divisor != 1.0:
        f, a, b = f / unit_divisor, a / unit_divisor, b / unit_divisor
    pixels = f[0].numel()
    return (_sums((a - f) ** 2) / pixels + _sums((b - f) ** 2) / pixels) / 2.0


def peak_signal_to_noise_ratio(
    f: Tensor, a: Tensor, b: Tensor, *, peak: float | None = None, unit_divisor: float = 1.0
) -> Tensor:
    mse = mean_squared_error(f, a, b, unit_divisor=unit_divisor)
    top = f.amax(dim=(-2, -1)) / unit_divisor if peak is None else torch.full_like(mse, peak)
    return 10.0 * torch.log10(top * top / mse)


#: numpy metric function -> its torch twin (same keyword options).
TORCH_METRICS: dict[Callable[..., float], Callable[..., Tensor]] = {
    information.entropy: entropy,
    moments.standard_deviation: standard_deviation,
    gradient.spatial_frequency: spatial_frequency,
    gradient.average_gradient: average_gradient,
    information.mutual_information: mutual_information,
    vif.visual_information_fidelity: visual_information_fidelity,
    qabf.qabf: q_abf,
    ssim.ssim_skimage: ssim_skimage,
    moments.correlation_coefficient: correlation_coefficient,
    moments.sum_of_correlation_differences: sum_of_correlation_differences,
    squared_error.peak_signal_to_noise_ratio: peak_signal_to_noise_ratio,
    squared_error.mean_squared_error: mean_squared_error,
}


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
        if conv.to_gray is not None and conv.implementations[name].function in TORCH_METRICS
    ]


def compute_batch(
    fused,
    ir,
    vis,
    metrics: str | Iterable[str] | None = None,
    convention: str = DEFAULT_CONVENTION,
    device: str | torch.device | None = None,
) -> dict[str, Tensor]:
    """Metric values of B fusion triples, ``{name: float64 tensor of shape (B,)}``.

    ``fused``, ``ir``, ``vis``: uint8 tensors or arrays of shape (B, H, W) or (B, H, W, 3)
    (colour is converted with the convention's gray conversion). ``device``: where the maths
    runs (``"cpu"`` default, ``"cuda"``...). Metrics and conventions not covered (see the module
    docstring) and unavailable devices raise :class:`MetricInputError`.
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
    planes = [
        _gray_batch(images, conv.to_gray, where, name)
        for images, name in ((fused, "fused"), (ir, "ir"), (vis, "vis"))
    ]
    if len({p.shape for p in planes}) != 1:
        raise MetricInputError(f"shapes differ: {', '.join(str(tuple(p.shape)) for p in planes)}")
    side = min(planes[0].shape[-2:])
    too_small = [n for n in names if side < conv.implementations[n].min_side]
    if too_small:
        raise MetricInputError(f"images too small ({side} px) for {', '.join(too_small)}")
    results = {}
    for name in names:
        impl = conv.implementations[name]
        function = TORCH_METRICS[impl.function]
        args = planes if impl.uses_sources else planes[:1]
        results[name] = function(*args, **impl.options)
    return results
