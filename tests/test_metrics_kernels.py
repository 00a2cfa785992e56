"""The compiled kernels (``ivifbench.metrics.kernels``) against the numpy reference path.

Every metric of every convention is computed twice, with the kernels and inside
``kernels.reference_path()``, on random and adversarial inputs (constant, saturated, tiny at
each metric's minimum size, odd sizes, colour); the values must agree to 1e-8 relative
(NaN and inf exactly where the reference has them). The kernels' own maths functions are
checked against numpy.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.fft

from ivifbench import CONVENTIONS, compute
from ivifbench.metrics import (
    edge_intensity,
    information,
    kernels,
    matlab_compat,
    moments,
    qabf,
    qcb,
    qcv,
    vif,
    vifb_kernels,
)
from ivifbench.metrics.matlab_compat import gaussian_window_1d
from ivifdata.imageio import read_image

#: SSIM on a constant fused image cancels E[x^2] - mu^2 against C2 = 3.6e-3: summation orders
#: (numpy/cv2 box filter, kernel, torch) differ there by up to ~3e-9 relative.
REL, ABS = 1e-8, 1e-12
#: Every metric fits at this size (VIF/VIFF need 41 x 41).
LARGEST_MIN_SIDE = max(
    impl.min_side for conv in CONVENTIONS.values() for impl in conv.implementations.values()
)


def _both_paths(images: list[np.ndarray], convention: str, metrics: list[str]):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = compute(*images, metrics=metrics, convention=convention)
        with kernels.reference_path():
            reference = compute(*images, metrics=metrics, convention=convention)
    return fast, reference


def _assert_same(fast: dict[str, float], reference: dict[str, float], what: str) -> None:
    for name, want in reference.items():
        got = fast[name]
        if math.isnan(want) or math.isinf(want):
            assert got == want or (math.isnan(got) and math.isnan(want)), (what, name, got, want)
        else:
            assert math.isclose(got, want, rel_tol=REL, abs_tol=ABS), (what, name, got, want)


def _cases() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(11)
    side = LARGEST_MIN_SIDE

    def gray(h: int, w: int) -> np.ndarray:
        return rng.integers(0, 256, (h, w), dtype=np.uint8)

    smooth = np.add.outer(np.arange(60), np.arange(75)).astype(np.uint8)
    return {
        "random": [gray(61, 83) for _ in range(3)],
        "odd sizes": [gray(45, 97) for _ in range(3)],
        "minimum size": [gray(side, side) for _ in range(3)],
        "constant": [np.full((50, 50), 128, np.uint8) for _ in range(3)],
        "all zero": [np.zeros((50, 50), np.uint8) for _ in range(3)],
        "constant fused": [np.full((50, 50), 7, np.uint8), gray(50, 50), gray(50, 50)],
        "constant source": [gray(50, 50), np.zeros((50, 50), np.uint8), gray(50, 50)],
        "saturated": [np.full((48, 52), 255, np.uint8), gray(48, 52), np.zeros((48, 52), np.uint8)],
        "half saturated": [np.clip(gray(52, 48).astype(int) * 3, 0, 255).astype(np.uint8)] * 3,
        "smooth (ties)": [smooth, smooth, smooth[::-1].copy()],
        "sparse": [(gray(47, 53) > 250).astype(np.uint8) * 255 for _ in range(3)],
        "colour": [rng.integers(0, 256, (49, 55, 3), dtype=np.uint8) for _ in range(3)],
    }


@pytest.mark.parametrize("convention", list(CONVENTIONS))
@pytest.mark.parametrize("case", list(_cases()))
def test_kernels_equal_reference_path(convention: str, case: str) -> None:
    images = _cases()[case]
    conv = CONVENTIONS[convention]
    side = min(images[0].shape[:2])
    metrics = [n for n, impl in conv.implementations.items() if impl.min_side <= side]
    fast, reference = _both_paths(images, convention, metrics)
    _assert_same(fast, reference, f"{convention}/{case}")


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_kernels_equal_reference_path_at_each_minimum_size(convention: str) -> None:
    rng = np.random.default_rng(3)
    for name, impl in CONVENTIONS[convention].implementations.items():
        side = max(impl.min_side, 2)
        images = [rng.integers(0, 256, (side, side + 1), dtype=np.uint8) for _ in range(3)]
        fast, reference = _both_paths(images, convention, [name])
        _assert_same(fast, reference, f"{convention}/{name} at {side}")


def test_vif_overflowing_products_fall_back_to_numpy() -> None:
    """Values far outside 0-255 make the grouped products overflow: the kernel reports it and
    the numpy path gives the value."""
    rng = np.random.default_rng(5)
    f, a, b = (rng.random((50, 60)) * 1e12 for _ in range(3))
    taps = tuple(gaussian_window_1d(17, 17 / 5))
    no_sources = np.empty((4, 0, 0))
    assert kernels.vif_scale_sums(f, a, b, taps, 2.0, vif.EPS, no_sources, kernels.NO_SOURCES)[4]
    fast = vif.visual_information_fidelity(f, a, b)
    with kernels.reference_path():
        reference = vif.visual_information_fidelity(f, a, b)
    assert math.isclose(fast, reference, rel_tol=REL)


@pytest.mark.parametrize("kernel", ["vif", "viff", "ssim"])
def test_moment_kernels_agree_for_taps_as_tuple_or_array(kernel: str) -> None:
    """Taps as a tuple (a loop unrolled for that size: VIF/VIFF scale 0, VIFB SSIM) or an
    array (the general sweeps: the other scales, the SSIM fallback): the same sums to
    round-off, also where F equals a source over whole windows."""
    rng = np.random.default_rng(7)
    f, a, b = (rng.integers(0, 256, (40, 53)).astype(np.float64) for _ in range(3))
    f[:20, :20] = b[:20, :20]
    no_sources = np.empty((4, 0, 0))
    call, taps, args = {
        "vif": (kernels.vif_scale_sums, 17, (2.0, vif.EPS, no_sources, kernels.NO_SOURCES)),
        "viff": (kernels.viff_scale_sums, 17, (325.125, vif.EPS, no_sources, kernels.NO_SOURCES)),
        "ssim": (kernels.ssim_sums, 11, (6.5, 58.5)),
    }[kernel]
    taps = gaussian_window_1d(taps, taps / 5)
    unrolled = np.asarray(call(f, a, b, tuple(taps), *args))
    general = np.asarray(call(f, a, b, taps, *args))
    np.testing.assert_allclose(unrolled, general, rtol=1e-12, atol=0)


def test_histogram_kernel_leaves_bad_grey_levels_to_the_numpy_error() -> None:
    good = np.zeros((8, 8))
    joints = np.empty((2, 256, 256), np.int32)
    not_a_number = good.copy()
    not_a_number[3, 4] = np.nan
    for bad in (np.full((8, 8), 0.5), np.full((8, 8), 256.0), np.full((8, 8), -1.0), not_a_number):
        assert not kernels.all_grey_levels(bad)
        assert not kernels.mutual_information_nats(good, good, bad, False, True, joints)[1]
        assert not kernels.grey_histogram(bad, True)[1]
        assert kernels.grey_counts(bad) is None
    for bad in (np.full((8, 8), 0.5), np.full((8, 8), 256.0), np.full((8, 8), -1.0)):
        with pytest.raises(ValueError, match="integer grey levels"):
            information.mutual_information(bad, good, good)


@pytest.mark.parametrize("saturate", [False, True])
def test_mutual_information_kernel_equals_numpy_on_skewed_levels(saturate: bool) -> None:
    """Joint histograms with levels 254/255 (Tang's merged bins), narrow level ranges (VIFB's
    stretch widens them: the compiled path relies on it keeping every histogram's counts),
    an odd pixel count (the sub-histograms' tail) and int32 against int64 counts."""
    rng = np.random.default_rng(21)
    cases = [
        [rng.integers(250, 256, (33, 41)).astype(float) for _ in range(3)],
        [rng.integers(100, 103, (33, 41)).astype(float) for _ in range(3)],
        [np.full((33, 41), 255.0), rng.integers(0, 2, (33, 41)) * 255.0, np.zeros((33, 41))],
    ]
    for f, a, b in cases:
        want = {}
        with kernels.reference_path():
            for stretch in (False, True):
                want[stretch] = information.mutual_information(
                    f, a, b, stretch=stretch, saturate_joint=saturate
                )
            counts = np.bincount(f.ravel().astype(int), minlength=256)
        for stretch in (False, True):
            got = information.mutual_information(f, a, b, stretch=stretch, saturate_joint=saturate)
            assert math.isclose(got, want[stretch], rel_tol=REL, abs_tol=ABS), (stretch, got)
        for dtype in (np.int32, np.int64):
            joints = np.empty((2, 256, 256), dtype)
            total, ok = kernels.mutual_information_nats(f, a, b, saturate, True, joints)
            assert ok and math.isclose(total, want[False], rel_tol=REL, abs_tol=ABS)
        np.testing.assert_array_equal(kernels.grey_histogram(f, False)[0], counts)


def test_qabf_kernel_with_input_scale_equals_reference() -> None:
    rng = np.random.default_rng(8)
    f, a, b = (rng.integers(0, 256, (40, 44)).astype(float) for _ in range(3))
    fast = qabf.qabf(f, a, b, input_scale=255.0)
    with kernels.reference_path():
        assert math.isclose(fast, qabf.qabf(f, a, b, input_scale=255.0), rel_tol=REL)


def test_maths_functions_match_numpy() -> None:
    rng = np.random.default_rng(2)
    x = np.concatenate(
        [
            rng.standard_normal(20000) * 10,
            rng.standard_normal(20000) * 1e-3,
            1 / rng.standard_normal(2000),
            [0.0, -0.0, 1.0, -1.0, 0.66, 2.414213562373095, 1e300, -1e300, 5e-324],
        ]
    )
    t = np.concatenate([x[:2000], x[-9:]])
    atan = np.array([kernels._atan(v) for v in t])
    assert np.allclose(atan, np.arctan(t), rtol=1e-15, atol=0)
    assert all(kernels._atan_quotient(v, 1.0) == kernels._atan(v) for v in t)
    # atan(y / x) from y and x: all sign combinations, ratios across the three ranges
    # (boundaries 0.66 and tan(3 pi / 8)), Sobel-like integers, x far from 1
    num = np.concatenate([rng.integers(-1020, 1021, 3000), x[:2000], [1.0, -0.66, 2.5]])
    signed = rng.integers(1, 1021, 3000) * rng.choice([-1, 1], 3000)
    den = np.concatenate([signed, rng.standard_normal(2000) * 1e3, [1.515, 1.0, -1.0]])
    quotient = np.array([kernels._atan_quotient(u, v) for u, v in zip(num, den, strict=True)])
    assert np.allclose(quotient, np.arctan(num / den), rtol=2e-15, atol=1e-300)
    assert kernels._atan_quotient(5.0, 0.0) == math.pi / 2
    y = np.concatenate([rng.uniform(-700, 700, 2000), rng.uniform(-10, 40, 2000), [0.0, 1.0]])
    exp = np.array([kernels._exp(v) for v in y])
    assert np.allclose(exp, np.exp(y), rtol=1e-15, atol=0)
    assert kernels._exp(-1e5) < 1e-300


def test_reference_path_is_restored() -> None:
    assert kernels.active()
    with pytest.raises(RuntimeError), kernels.reference_path():
        assert not kernels.active()
        raise RuntimeError
    assert kernels.active()


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_shared_source_work_gives_the_same_values(convention: str) -> None:
    """Inside ``shared_sources`` the source work of the first call is reused by the next
    fused images of the pair (and by VIF/VIFF within a call): values are unchanged."""
    rng = np.random.default_rng(4)
    ir, vis = (rng.integers(0, 256, (50, 62, 3), dtype=np.uint8) for _ in range(2))
    fused = [rng.integers(0, 256, (50, 62, 3), dtype=np.uint8) for _ in range(3)]
    fused.append(np.full((50, 62, 3), 255, np.uint8))
    metrics = list(CONVENTIONS[convention].implementations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = [compute(f, ir, vis, metrics=metrics, convention=convention) for f in fused]
        with kernels.shared_sources():
            shared = [compute(f, ir, vis, metrics=metrics, convention=convention) for f in fused]
            cache = kernels._SHARED[0]
            assert any(key[0] == "vif moments" for key in cache)
            assert any(key[0] == "qabf edges" for key in cache)
            if convention == "vifb":
                kinds = {"qcb contrast", "qcv source", "grey probabilities"}
                assert kinds <= {key[0] for key in cache}
    assert kernels._SHARED[0] is None
    for one, other in zip(alone, shared, strict=True):
        _assert_same(other, one, convention)
        assert one == other or all(
            a == b or (math.isnan(a) and math.isnan(b))
            for a, b in zip(one.values(), other.values(), strict=True)
        )


def _vifb_planes() -> dict[str, np.ndarray]:
    """Planes for the VIFB kernels: random, odd-sized, at Qcb's minimum size, smooth, sparse,
    saturated, with exact halves in the stretch, and the degenerate constants."""
    rng = np.random.default_rng(12)
    return {
        "random": rng.integers(0, 256, (61, 83)).astype(float),
        "odd": rng.integers(0, 256, (45, 97)).astype(float),
        "minimum": rng.integers(0, 256, (qcb.MIN_SIDE, qcb.MIN_SIDE + 2)).astype(float),
        "smooth": np.add.outer(np.arange(40.0), np.arange(50.0)),
        "sparse": (rng.random((47, 53)) > 0.97) * 255.0,
        "saturated": np.clip(rng.integers(0, 256, (48, 52)) * 3, 0, 255).astype(float),
        "halves": np.tile([0.0, 1.0, 102.0, 2.0, 0.5, 1.5], (33, 7)),
        "zeros": np.zeros((35, 40)),
        "constant": np.full((35, 40), 7.0),
    }


@pytest.mark.parametrize("case", list(_vifb_planes()))
def test_stretch_kernel_equals_numpy_stretches(case: str) -> None:
    x = _vifb_planes()[case]
    liu, ok = vifb_kernels.stretched(x)
    np.testing.assert_array_equal(liu, matlab_compat.minmax_stretch_255(x))
    assert ok == (case != "halves")  # 0.5 and 1.5 are not grey levels
    vifb_mi, _ = vifb_kernels.stretched(x, np.empty(x.shape), nan_if_constant=False)
    np.testing.assert_array_equal(vifb_mi, information._stretch_vifb(x))


@pytest.mark.parametrize("case", list(_vifb_planes()))
def test_qcb_qcv_ei_kernels_equal_their_numpy_maps(case: str) -> None:
    """Map by map, not only the final means: the CSF filter, the masked contrast, the block
    saliency and distortion, and the EI sum."""
    x = matlab_compat.minmax_stretch_255(_vifb_planes()[case])
    for csf in (qcb._dog_csf(*x.shape), qcv._mannos_sakrison_csf(*x.shape)):
        want = scipy.fft.irfft2(scipy.fft.rfft2(x) * csf, s=x.shape)
        got = vifb_kernels.csf_filtered(x, csf, np.empty(x.shape))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())
    filtered = scipy.fft.irfft2(scipy.fft.rfft2(x) * qcb._dog_csf(*x.shape), s=x.shape)
    with np.errstate(all="ignore"):
        want = qcb._masked_contrast(
            *(
                cv2.sepFilter2D(filtered, cv2.CV_64F, *qcb._gaussian_factors(s), borderType=0)
                for s in qcb.CONTRAST_SIGMAS
            )
        )
        got = np.empty(x.shape)
        (norm_c, taps_c), (norm_s, taps_s) = map(qcb._gaussian_factors, qcb.CONTRAST_SIGMAS)
        vifb_kernels.qcb_contrast(filtered, taps_c, norm_c, taps_s, norm_s, qcb.MASK_Z, got)
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-300, equal_nan=True)
        saliency = vifb_kernels.block_saliency(x, qcv.BLOCK, qcv.SALIENCY_ALPHA)
        np.testing.assert_allclose(saliency, qcv._block_saliency(x), rtol=1e-12, equal_nan=True)
        squares = vifb_kernels.block_mean_squares(filtered, qcv.BLOCK)
        want = qcv._block_sums(filtered * filtered) / qcv.BLOCK**2
        np.testing.assert_allclose(squares, want, rtol=1e-12, atol=0, equal_nan=True)
    assert squares.shape == (-(-x.shape[0] // 16), -(-x.shape[1] // 16))
    fused = _vifb_planes()[case]
    got = edge_intensity.edge_intensity(fused)
    with kernels.reference_path():
        assert math.isclose(got, edge_intensity.edge_intensity(fused), rel_tol=1e-12)


@pytest.mark.parametrize("case", list(_vifb_planes()))
def test_qcv_complex_pair_equals_two_real_filters(case: str) -> None:
    """Qcv filters VIS - F and IR - F as the real and imaginary parts of one complex image:
    each part equals its own rfft2/irfft2 filter (also where a difference is all zero, the
    fused image equal to a source) and its block mean squares the real-path ones."""
    x = matlab_compat.minmax_stretch_255(_vifb_planes()[case])
    if np.isnan(x).any():
        return  # a constant nonzero plane: NaN, compared through the metric in other tests
    rng = np.random.default_rng(14)
    other = rng.integers(0, 256, x.shape).astype(float)
    csf = qcv._mannos_sakrison_csf(*x.shape)
    full = qcv._mannos_sakrison_csf_full(*x.shape)
    assert np.array_equal(
        full, full[(-np.arange(x.shape[0])) % x.shape[0]][:, [0, *range(x.shape[1] - 1, 0, -1)]]
    )
    for fused in (other, x, np.zeros(x.shape)):
        pair = np.empty(x.shape, np.complex128)
        vifb_kernels.pack_differences(x, other, fused, pair)
        vifb_kernels.csf_filtered_pair(pair, full)
        squares = vifb_kernels.block_mean_squares_pair(pair, qcv.BLOCK)
        for part, source, blocks in ((pair.real, x, squares[0]), (pair.imag, other, squares[1])):
            want = scipy.fft.irfft2(scipy.fft.rfft2(source - fused) * csf, s=x.shape)
            scale = max(np.abs(source - fused).max(), np.abs(other - fused).max(), 1.0)
            np.testing.assert_allclose(part, want, rtol=0, atol=1e-12 * scale)
            real_path = vifb_kernels.block_mean_squares(np.ascontiguousarray(part), qcv.BLOCK)
            np.testing.assert_array_equal(blocks, real_path)


def test_qcb_quality_kernel_flags_the_vifb_nan_cases() -> None:
    rng = np.random.default_rng(13)
    good = [rng.random((4, 5)) + 0.1 for _ in range(3)]
    total, ok = vifb_kernels.qcb_quality_sum(*good)
    cf, ca, cb = good
    want = (cb**2 * np.minimum(cb, cf) / np.maximum(cb, cf)) / (cb**2 + ca**2)
    want += (ca**2 * np.minimum(ca, cf) / np.maximum(ca, cf)) / (cb**2 + ca**2)
    assert ok and math.isclose(total, want.sum(), rel_tol=1e-14)
    for bad in (0.0, np.inf, np.nan):
        for k in range(3):
            maps = [c.copy() for c in good]
            maps[k][2, 3] = bad
            assert not vifb_kernels.qcb_quality_sum(*maps)[1]


def test_workspace_buffers_are_reused_per_name_and_shape() -> None:
    first = kernels.workspace("test", (3, 4))
    assert kernels.workspace("test", (3, 4)) is first
    assert kernels.workspace("other", (3, 4)) is not first
    resized = kernels.workspace("test", (4, 4), np.complex128)
    assert resized.shape == (4, 4) and resized.dtype == np.complex128


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_kernels_equal_reference_path_on_a_fused_maximum(convention: str) -> None:
    """The real triple whose fused image is max(IR, VIS): F equals one source over whole
    windows, so VIF's variance thresholds and VIFF's source choice turn on the last bits of
    the local moments (VIFF moves by 5e-7 relative when they round differently)."""
    folder = Path(__file__).parent / "data" / "triples" / "roadscene_FLIR_00006_max"
    images = [read_image(folder / f"{name}.png") for name in ("fused", "ir", "vis")]
    fast, reference = _both_paths(images, convention, list(CONVENTIONS[convention].implementations))
    _assert_same(fast, reference, f"{convention}/fused maximum")


def test_exact_grey_level_sums_only_for_the_planes_of_a_call() -> None:
    """SD, CC, SCD, MSE and PSNR take exact integer sums only for arrays that ``compute``
    marked as grey levels in the current call; other arrays (fractions here) take the float
    path, and the marks end with the call."""
    rng = np.random.default_rng(5)
    f, a, b = (rng.integers(0, 256, (40, 50)).astype(np.float64) + 0.25 for _ in range(3))
    with kernels.one_call():
        assert moments.grey_level_sums(f, a, b) is None
        assert math.isclose(moments.standard_deviation(f), float(np.std(f)), rel_tol=1e-12)
        kernels.mark_grey_levels(f, a, b)
        assert kernels.grey_levels(f, a, b)
    assert not kernels.grey_levels(f)
    grey = [x - 0.25 for x in (f, a, b)]
    with kernels.one_call():
        kernels.mark_grey_levels(*grey)
        sums = moments.grey_level_sums(*grey)
        assert sums is not None
        assert sums.first == tuple(int(x.sum()) for x in grey)
        assert sums.second[0][1] == int(np.sum(grey[0] * grey[1]))
        exact = moments.correlation_coefficient(*grey)
    with kernels.reference_path():
        assert math.isclose(exact, moments.correlation_coefficient(*grey), rel_tol=1e-13)


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_histograms_count_the_uint8_pixels_of_computes_planes(monkeypatch, convention) -> None:
    """EN, CE and MI count the uint8 pixels a plane was copied from (an eighth of the memory);
    planes made otherwise (a converted colour image, the VIFB channels) keep the float count.
    The values are the numpy path's either way."""
    counted: list[str] = []
    histogram, joint = kernels.grey_histogram, kernels.mutual_information_nats

    def recording_histogram(x, check):
        counted.append(x.dtype.name)
        return histogram(x, check)

    def recording_joint(f, a, b, *args):
        counted.extend(x.dtype.name for x in (f, a, b))
        return joint(f, a, b, *args)

    monkeypatch.setattr(kernels, "grey_histogram", recording_histogram)
    monkeypatch.setattr(kernels, "mutual_information_nats", recording_joint)
    metrics = [n for n in ("EN", "CE", "MI") if n in CONVENTIONS[convention].implementations]
    triples = Path(__file__).parent / "data" / "triples"
    for folder, expected in (
        ("msrs_00004N_lap", {"uint8"}),
        ("roadscene_FLIR_video_02829_laprgb", None),
    ):
        images = [read_image(triples / folder / f"{n}.png") for n in ("fused", "ir", "vis")]
        counted.clear()
        fast, reference = _both_paths(images, convention, metrics)
        _assert_same(fast, reference, f"{convention}/{folder}")
        if expected is not None:
            assert set(counted) == expected
        else:  # the colour images' planes are conversions or channels
            assert "float64" in counted
