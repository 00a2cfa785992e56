"""The pure metric functions on small arrays with values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import convolve2d

from ivifbench.metrics import gradient, information, moments, qabf, squared_error, ssim, vif
from ivifbench.metrics.matlab_compat import (
    box_mean_valid,
    filter2_valid,
    filter2_valid_rows,
    filter2_valid_subsampled,
    gaussian_window_1d,
    matlab_round,
    sobel_conv2_same,
)
from ivifbench.metrics.numerics import sum_log10

RNG = np.random.default_rng(7)


def noise(shape=(48, 64), levels=256) -> np.ndarray:
    return RNG.integers(0, levels, shape).astype(np.float64)


def test_entropy_counts_bits() -> None:
    half = np.zeros((4, 4))
    half[:2] = 255
    assert information.entropy(half) == 1.0
    assert information.entropy(np.full((3, 3), 9.0)) == 0.0
    quarters = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert information.entropy(quarters) == 2.0


def test_histogram_metrics_reject_non_8bit_values() -> None:
    with pytest.raises(ValueError, match="integer grey levels"):
        information.entropy(np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="MI: ir"):
        information.mutual_information(np.zeros((2, 2)), np.full((2, 2), 256.0), np.zeros((2, 2)))


def test_mutual_information_units_stretch_and_tang_saturation() -> None:
    x = noise()
    h_nats = -sum(p * math.log(p) for p in np.bincount(x.astype(int).ravel()) / x.size if p > 0)
    assert information.mutual_information(x, x, x) == pytest.approx(2 * h_nats, rel=1e-12)
    assert information.mutual_information(x, x, x, bits=True) == pytest.approx(
        2 * h_nats / math.log(2), rel=1e-12
    )
    # Min-max stretching (VIFB) does not change MI of an image with two levels.
    two = np.where(x > 127, 20.0, 10.0)
    assert information.mutual_information(two, two, two, stretch=True) == pytest.approx(
        information.mutual_information(two, two, two), rel=1e-12
    )
    # Tang: levels 254 and 255 share one joint bin but not a marginal bin, so MI = H + H - 0.
    top = np.full((4, 4), 254.0)
    top[:2] = 255.0  # one bit in each marginal
    assert information.mutual_information(top, top, top, bits=True) == pytest.approx(2.0)
    assert information.mutual_information(
        top, top, top, bits=True, saturate_joint=True
    ) == pytest.approx(4.0)


def test_spatial_frequency_divisors() -> None:
    img = np.array([[0.0, 1.0], [2.0, 3.0]])  # horizontal diffs 1, 1; vertical diffs 2, 2
    assert gradient.spatial_frequency(img) == pytest.approx(math.sqrt(1 + 4))
    assert gradient.spatial_frequency(img, divisor="pixels") == pytest.approx(math.sqrt(10 / 4))


def test_average_gradient_of_a_ramp() -> None:
    ramp = np.tile(np.arange(6.0) * 3, (4, 1))  # d/dx = 3 everywhere, d/dy = 0
    per_pixel = math.sqrt(9 / 2)
    assert gradient.average_gradient(ramp, divisor="MN") == pytest.approx(per_pixel)
    assert gradient.average_gradient(ramp) == pytest.approx(per_pixel * 24 / 15)


def test_error_metrics() -> None:
    f = np.full((2, 2), 10.0)
    a = np.full((2, 2), 12.0)  # squared error 4
    b = np.full((2, 2), 4.0)  # squared error 36
    assert squared_error.mean_squared_error(f, a, b) == 20.0
    assert squared_error.mean_squared_error(f, a, b, unit_divisor=255.0) == pytest.approx(
        20 / 255**2
    )
    assert squared_error.peak_signal_to_noise_ratio(f, a, b) == pytest.approx(
        10 * math.log10(100 / 20)
    )
    tang = squared_error.peak_signal_to_noise_ratio(f, a, b, peak=255.0, unit_divisor=255.0)
    assert tang == pytest.approx(10 * math.log10(255**2 / 20) + 20 * math.log10(255))
    rmse = (math.sqrt(16) / 4 + math.sqrt(144) / 4) / 2  # sqrt(SSE) / MN per source
    assert squared_error.root_mean_squared_error_vifb(f, a, b) == pytest.approx(rmse)
    assert squared_error.peak_signal_to_noise_ratio_vifb(f, a, b) == pytest.approx(
        20 * math.log10(255 / math.sqrt(rmse))
    )
    assert squared_error.peak_signal_to_noise_ratio(f, f, f) == math.inf


def test_correlations() -> None:
    a, b = noise(), noise()
    assert moments.correlation_coefficient(a, a, a) == pytest.approx(1.0)
    assert moments.correlation_coefficient(a, a, -a) == pytest.approx(0.0, abs=1e-12)
    assert moments.sum_of_correlation_differences(a + b, a, b) == pytest.approx(2.0)
    assert math.isnan(moments.pearson(np.ones((3, 3)), a[:3, :3]))
    assert moments.standard_deviation(np.array([[0.0, 2.0]])) == 1.0


def test_filters_match_direct_definitions() -> None:
    img = noise((20, 23))
    taps = gaussian_window_1d(9, 1.8)
    assert taps.sum() == pytest.approx(1.0)
    window = np.outer(taps, taps)
    direct = convolve2d(img, window[::-1, ::-1], mode="valid")
    np.testing.assert_allclose(filter2_valid(img, taps), direct, rtol=1e-13)
    boxes = box_mean_valid(img, 7)
    assert boxes.shape == (14, 17)
    assert boxes[0, 0] == pytest.approx(img[:7, :7].mean(), rel=1e-14)
    assert boxes[-1, -1] == pytest.approx(img[-7:, -7:].mean(), rel=1e-14)
    sx, sy = sobel_conv2_same(img)
    h3 = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    h1 = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=float)
    np.testing.assert_array_equal(sx, convolve2d(img, h3, mode="same"))
    np.testing.assert_array_equal(sy, convolve2d(img, h1, mode="same"))
    np.testing.assert_array_equal(matlab_round(np.array([0.5, 1.5, 2.4999, 2.5])), [1, 2, 2, 3])


def test_qabf_tie_rule_and_vifb_scaling() -> None:
    x = noise()
    q_angle = qabf.TA / (1 + math.exp(qabf.KA * (1 - qabf.DA)))
    # F = A = B: every pixel is a tie; on 255x data the "ratio" gF is huge, so Qg = Tg.
    assert qabf.qabf(x, x, x, input_scale=255.0) == pytest.approx(qabf.TG * q_angle, rel=1e-12)
    g = np.hypot(*sobel_conv2_same(x))
    q_strength = qabf.TG / (1 + np.exp(qabf.KG * (g - qabf.DG)))
    expected = np.sum(q_strength * q_angle * g) / np.sum(g)
    assert qabf.qabf(x, x, x) == pytest.approx(expected, rel=1e-12)
    flat = np.zeros((8, 8))
    assert math.isnan(qabf.qabf(x[:8, :8], flat, flat))


def test_ssim_of_identical_images_is_two() -> None:
    x = noise()
    assert ssim.ssim_skimage(x, x, x) == pytest.approx(2.0, rel=1e-12)
    assert ssim.ssim_vifb(x, x, x) == pytest.approx(2.0, rel=1e-12)
    assert ssim.ssim_skimage(x, x, 255 - x) < 1.5


def test_vif_identity_constant_source_and_minimum_size() -> None:
    x = noise((64, 64))
    assert vif.visual_information_fidelity(x, x, x) == pytest.approx(2.0, rel=1e-9)
    flat = np.full_like(x, 50.0)
    assert math.isnan(vif.visual_information_fidelity(x, flat, x))
    assert vif.visual_information_fidelity(x, flat, x, nan_as_one=True) == pytest.approx(2.0)
    smallest = noise((vif.MIN_SIDE, vif.MIN_SIDE))
    assert math.isfinite(vif.visual_information_fidelity(smallest, smallest, smallest))


def test_fast_helpers_match_direct_computations() -> None:
    for shape, size in (((150, 91), 9), ((151, 90), 5), ((41, 41), 3)):
        img = noise(shape) + RNG.random(shape)
        taps = gaussian_window_1d(size, size / 5.0)
        subsampled = filter2_valid_subsampled(img, taps)
        np.testing.assert_array_equal(subsampled, filter2_valid(img, taps)[::2, ::2])
        assert subsampled.flags.c_contiguous
        rows = filter2_valid_rows(img, taps)
        np.testing.assert_array_equal(
            rows[:, size // 2 : shape[1] - size // 2], filter2_valid(img, taps)
        )
    factors = 1.0 + 3e4 * RNG.random((75, 40))
    direct = float(np.sum(np.log10(factors[:, 3:-3])))
    assert sum_log10(factors, slice(3, -3)) == pytest.approx(direct, rel=1e-14)
    huge = np.full((40, 3), 1e300)  # group products overflow: per-factor logarithms
    assert sum_log10(huge) == pytest.approx(120 * 300.0, rel=1e-14)
    assert sum_log10(np.ones((70, 5))) == 0.0


def test_banded_statistics_match_whole_image_formulas() -> None:
    # Taller than one band of rows, so the band seams are exercised.
    f, a = noise((150, 70)), noise((150, 70))
    assert moments.standard_deviation(f) == pytest.approx(np.std(f), rel=1e-14)
    assert moments.pearson(f, a) == pytest.approx(np.corrcoef(f.ravel(), a.ravel())[0, 1])
    diffs = np.sum(np.diff(f, axis=1) ** 2) / (150 * 69) + np.sum(np.diff(f, axis=0) ** 2) / (
        149 * 70
    )
    assert gradient.spatial_frequency(f) == pytest.approx(math.sqrt(diffs), rel=1e-14)
    gy, gx = np.gradient(f)
    expected = np.sum(np.sqrt((gx**2 + gy**2) / 2)) / f.size
    assert gradient.average_gradient(f, divisor="MN") == pytest.approx(expected, rel=1e-14)
    assert squared_error.mean_squared_error(f, a, f) == pytest.approx(np.mean((a - f) ** 2) / 2)
