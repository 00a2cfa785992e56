"""FMI (``ivifbench.metrics.fmi``) pinned to Tang's ``analysis_fmi.m`` run by Octave 7.3 on the
24 x 24 centre crop of every real triple (``tests/references/fmi_values.csv``; FMI_w, whose
dmey maps make Octave take 1-2 min per crop, on the five triples of ``tests/data`` only:
``fmi_w_values.csv``), 1e-6 relative or 1e-9 absolute, with the compiled kernel and the numpy
reference path; plus Tang's quirks and the kernel against the reference on adversarial input.
"""

from __future__ import annotations

import contextlib
import csv
import math
from pathlib import Path

import numpy as np
import pytest

from ivifbench import CONVENTIONS, MetricInputError, compute
from ivifbench.metrics import fmi, kernels
from ivifbench.metrics.matlab_features import DMEY, HI_D, LO_D, dwt2_dmey, edge_sobel
from ivifbench.toolbox_names import TANG_FMI_METRICS
from ivifdata.imageio import read_image

HERE = Path(__file__).resolve().parent
REFERENCES = HERE / "references"
LOCAL = HERE / "data" / "triples"
SHARED = HERE.parents[0] / ".." / "shared" / "refs" / "triples"
#: Side of the centre crop the reference values were made on (octave_values.py --crop).
CROP = 24
NAMES = ("FMI_pixel", "FMI_edge", "FMI_dct", "FMI_w")
FUNCTIONS = {
    "FMI_pixel": fmi.fmi_pixel,
    "FMI_edge": fmi.fmi_edge,
    "FMI_dct": fmi.fmi_dct,
    "FMI_w": fmi.fmi_wavelet,
}


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCES / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


ROWS = _rows("fmi_values.csv") + _rows("fmi_w_values.csv")
TRIPLES = sorted({r["triple"] for r in ROWS})
LOCAL_TRIPLES = [t for t in TRIPLES if (LOCAL / t).is_dir()]


def _crop(image: np.ndarray) -> np.ndarray:
    top, left = image.shape[0] // 2 - CROP // 2, image.shape[1] // 2 - CROP // 2
    return image[top : top + CROP, left : left + CROP]


def _check_triple(folder: Path) -> None:
    images = [_crop(read_image(folder / f"{name}.png")) for name in ("fused", "ir", "vis")]
    targets = [r for r in ROWS if r["triple"] == folder.name]
    wanted = [TANG_FMI_METRICS[r["metric"]] for r in targets]
    fast = compute(*images, metrics=wanted, convention="tang")
    with kernels.reference_path():
        reference = compute(*images, metrics=wanted, convention="tang")
    failures = []
    for row, metric in zip(targets, wanted, strict=True):
        want = float(row["value"])
        for path, values in (("kernel", fast), ("numpy", reference)):
            if not math.isclose(values[metric], want, rel_tol=1e-6, abs_tol=1e-9):
                failures.append(f"{folder.name} {row['metric']} ({path}): {values[metric]!r}")
    assert not failures, "\n".join(failures)


def test_reference_files_name_every_row_and_cover_the_triples():
    assert {r["metric"] for r in ROWS} == set(TANG_FMI_METRICS)
    assert all(r["value"] and not r["error"] for r in ROWS)
    assert len(TRIPLES) == 21
    w_triples = {r["triple"] for r in ROWS if r["metric"] == "FMI_w"}
    assert w_triples == set(LOCAL_TRIPLES) and len(w_triples) == 5
    for triple in TRIPLES:
        names = {r["metric"] for r in ROWS if r["triple"] == triple}
        assert names >= {"FMI_pixel", "FMI_dct", "FMI_feature_none"}


@pytest.mark.parametrize("triple", LOCAL_TRIPLES)
def test_matches_octave_on_fixture_crops(triple):
    _check_triple(LOCAL / triple)


@pytest.mark.shared
def test_matches_octave_on_all_shared_crops():
    if not SHARED.is_dir():
        pytest.skip("../shared/refs is absent")
    for triple in TRIPLES:
        _check_triple(SHARED / triple)


def test_registered_under_tang_only_and_in_no_default_list():
    tang = CONVENTIONS["tang"]
    for name in NAMES:
        assert tang.implementations[name].min_side == fmi.MIN_SIDE == 3
        assert name not in tang.default_metrics
        for other in ("cddfuse", "vifb"):
            assert name not in CONVENTIONS[other].implementations
    assert "edge" in tang.implementations["FMI_edge"].follows


# --- Tang's semantics on small windows ---------------------------------------------------


def test_identical_images_score_one():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (9, 11)).astype(float)
    for function in FUNCTIONS.values():
        assert function(x, x, x) == 1.0


def test_vis_is_compared_with_the_rescaled_fused_window():
    """Tang rescales F's window in place in the (IR, F) step, so VIS is compared with F's
    rescaled window. F = one bright pixel: its pdf is one point (entropy 0), so every computed
    pair scores mi = 0, i.e. 0; only the equality shortcut scores 1. VIS == F is not equal to
    the rescaled F (0); VIS == F / 7 is (1); IR == F takes the shortcut before any rescaling."""
    f = np.array([[0.0, 0.0, 0.0], [0.0, 7.0, 0.0], [0.0, 0.0, 0.0]])
    ir = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0], [5.0, 0.0, 7.0]])
    for path in ("kernel", "numpy"):
        with kernels.reference_path() if path == "numpy" else contextlib.nullcontext():
            assert fmi.fmi_pixel(f, ir, f) == 0.0, path
            assert fmi.fmi_pixel(f, ir, f / 7) == 0.5, path
            assert fmi.fmi_pixel(f, f, ir) == 0.5, path  # not symmetric in the sources


def test_constant_windows_and_independent_windows():
    """A constant window becomes ones (a uniform pdf); c == 0 gives phi = 0, so the joint pdf
    is the product of the marginals and mi is 0 up to round-off."""
    flat = np.full((3, 3), 5.0)
    ramp = np.arange(9.0).reshape(3, 3, order="F")
    (value,) = fmi.fmi_map_reference(flat, flat, ramp)
    assert abs(value) < 1e-12


@pytest.mark.parametrize("side", [3, 4, 7])
def test_minimum_size_and_one_less(side):
    rng = np.random.default_rng(side)
    images = [rng.integers(0, 256, (side, side + 1)).astype(float) for _ in range(3)]
    for function in FUNCTIONS.values():
        assert math.isfinite(function(*images))
    small = [x[:2] for x in images]
    with pytest.raises(ValueError, match=r"FMI_dct: images must be at least 3x3"):
        fmi.fmi_dct(*small)
    with pytest.raises(MetricInputError, match=r"FMI_w needs at least 3x3"):
        compute(*(x.astype(np.uint8) for x in small), metrics="FMI_w", convention="tang")


# --- the compiled kernel against the numpy reference -----------------------------------------


def _cases() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(12)

    def gray(h: int, w: int) -> np.ndarray:
        return rng.integers(0, 256, (h, w)).astype(float)

    smooth = np.add.outer(np.arange(30.0), np.arange(33.0))
    return {
        "random": [gray(31, 37) for _ in range(3)],
        "tiny": [gray(3, 3) for _ in range(3)],
        "odd": [gray(5, 41) for _ in range(3)],
        "constant fused": [np.full((20, 21), 9.0), gray(20, 21), gray(20, 21)],
        "constant sources": [gray(20, 21), np.zeros((20, 21)), np.full((20, 21), 255.0)],
        "saturated": [np.clip(gray(25, 24) * 3, 0, 255) for _ in range(3)],
        "binary": [(gray(26, 23) > 128) * 1.0 for _ in range(3)],
        "sparse": [(gray(26, 23) > 240) * 255.0 for _ in range(3)],
        "ties": [smooth, smooth, smooth[::-1].copy()],
        "real features": [
            rng.standard_normal((22, 27)) * 10 ** rng.uniform(-3, 3) for _ in range(3)
        ],
        "near-equal": [gray(20, 20) + rng.standard_normal((20, 20)) * 1e-9 for _ in range(3)],
        # one large value among round-off-sized ones: near one-point pdfs, imaginary spreads
        "near-delta": [
            np.where(rng.random((15, 16)) < 0.1, 1.0, rng.random((15, 16)) * 1e-15)
            for _ in range(3)
        ],
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_kernel_equals_numpy_reference(case):
    images = _cases()[case]
    for name, function in FUNCTIONS.items():
        fast = function(*images)
        with kernels.reference_path():
            reference = function(*images)
        if math.isnan(reference):  # 0 x inf in a degenerate window, as in Tang's code
            assert math.isnan(fast), (case, name)
        else:
            assert math.isclose(fast, reference, rel_tol=1e-9, abs_tol=1e-12), (case, name)


def test_kernel_equals_reference_on_features_with_large_phi():
    """Windows whose Nelsen weight phi exceeds the closed form's bound take Tang's cell-by-cell
    sum in the kernel too: near-degenerate pdfs (one window value far above the rest)."""
    rng = np.random.default_rng(5)
    a, b, f = (rng.random((12, 12)) for _ in range(3))
    a[::3, ::3] += 1e6
    f[1::3, ::3] += 1e6
    fast = fmi.fmi_of_features(a, b, f)
    with kernels.reference_path():
        assert math.isclose(fast, fmi.fmi_of_features(a, b, f), rel_tol=1e-9, abs_tol=1e-12)


def test_imaginary_spread_follows_octave_complex_arithmetic():
    """A nearly one-point pdf can round its index variance below 0: MATLAB's sqrt gives an
    imaginary spread and Tang's code continues in complex arithmetic (real part kept). Octave:
    ``pkg load image; analysis_fmi(A, B, F, 'none')`` on these 3 x 3 maps (%.17g literals)
    gave 0.0023463984910342827."""
    a = np.array(
        [
            [7.5132694900000006e-17, 6.74237205e-17, 1.0],
            [0.0, 7.7326459799999999e-16, 2.9407636e-16],
            [1.9181714800000001e-16, 8.2122660599999997e-16, 2.7712088900000002e-16],
        ]
    )
    b = np.array([[2.0, 2.0, 8.0], [1.0, 0.0, 3.0], [5.0, 9.0, 7.0]])
    f = np.array([[3.0, 7.0, 1.0], [0.0, 5.0, 2.0], [9.0, 4.0, 6.0]])
    pdf = a.reshape(1, -1, order="F") / a.sum()
    assert fmi._index_variance(pdf)[0] < 0
    octave = 0.0023463984910342827
    assert fmi.fmi_of_features(a, b, f) == pytest.approx(octave, rel=1e-9)
    with kernels.reference_path():
        assert fmi.fmi_of_features(a, b, f) == pytest.approx(octave, rel=1e-9)


# --- MATLAB feature transforms ------------------------------------------------------------


def test_dmey_filters_are_quadrature_mirrors():
    """wfilters: Lo_D sums to sqrt(2); Hi_D is its alternating mirror, orthogonal to it. The
    102-tap FIR approximation is orthonormal and high-pass only to about 2e-6."""
    assert DMEY.size == LO_D.size == HI_D.size == 102
    assert LO_D.sum() == pytest.approx(math.sqrt(2), rel=1e-14)
    np.testing.assert_array_equal(np.abs(HI_D), np.abs(LO_D[::-1]))
    assert abs((LO_D * HI_D).sum()) < 1e-15
    assert abs(HI_D.sum()) < 3e-6
    assert (LO_D * LO_D).sum() == pytest.approx(1.0, abs=3e-6)


def test_dwt2_sizes_and_constant_image():
    a, h, v, d = dwt2_dmey(np.full((7, 12), 3.0))
    assert a.shape == h.shape == v.shape == d.shape == ((7 + 101) // 2, (12 + 101) // 2)
    np.testing.assert_allclose(a, 3.0 * 2.0, rtol=1e-14)  # (sum of Lo_D)^2 = 2
    # details: 3 sqrt(2) sum(Hi_D) (h, v) and 3 sum(Hi_D)^2 (d)
    np.testing.assert_allclose(np.abs(h), 3 * math.sqrt(2) * abs(HI_D.sum()), rtol=1e-6)
    assert np.abs(d).max() < 1e-10


def test_edge_is_a_thin_line_on_a_step():
    image = np.zeros((9, 10))
    image[:, 5:] = 200.0
    edges = edge_sobel(image)
    assert set(np.unique(edges)) == {0.0, 1.0}
    columns = np.nonzero(edges.any(axis=0))[0]
    # b is equal on both sides of the step (columns 4 and 5): the maximum test along the row
    # (left <= b, right < b) keeps the right one.
    assert columns.tolist() == [5]
    assert edges[:, 5].all()
