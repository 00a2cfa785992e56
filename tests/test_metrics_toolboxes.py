"""Metrics pinned to the original MATLAB code run by Octave 7.3 (tolerance 1e-6 relative, 1e-9
absolute), values made by ``tests/references/octave_values.py``:

* Q0, Qw, Qe, Qy, Qc, NCIE, TE: Z. Liu's ``imageFusionMetrics`` (MEFB's ``metricsQw.m`` for
  Qe), ``tests/references/liu_values.csv``; every convention (gray rows agree; colour rows
  are ``rgb2gray``, i.e. ``tang``);
* Qp: Liu's ``metricZhao.m`` with ``myphasecong3.m``, in ``liu_values.csv`` too (small synthetic
  triples: ``tests/test_metrics_phase.py``);
* MS_SSIM: Tang's ``analysis_ms_ssim.m``, ``tests/references/tang_values.csv``, ``tang``.

Each triple is checked with ``compute`` (numpy) and ``compute_batch`` (torch on CPU).
"""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.linalg import blas

from ivifbench import CONVENTIONS, MetricInputError, compute, compute_batch
from ivifbench.metrics import (
    liu_information,
    local_ssim,
    mef_ssim,
    phase_congruency,
    piella,
    yang_cvejic,
)
from ivifbench.toolbox_names import LIU_NOT_TARGETS, LIU_TOOLBOX_METRICS, TANG_EXTRA_METRICS
from ivifbench.torch_backend import covered
from ivifdata.imageio import read_image

HERE = Path(__file__).resolve().parent
REFERENCES = HERE / "references"
LOCAL = HERE / "data" / "triples"
SHARED = HERE.parents[0] / ".." / "shared" / "refs" / "triples"

FUNCTIONS = {
    "Q0": piella.piella_q0,
    "Qw": piella.piella_qw,
    "Qe": piella.piella_qe,
    "Qy": yang_cvejic.yang_qy,
    "Qc": yang_cvejic.cvejic_qc,
    "NCIE": liu_information.ncie,
    "TE": liu_information.tsallis_entropy,
    "Qp": phase_congruency.zhao_qp,
    "MS_SSIM": mef_ssim.ms_ssim_tang,
}
LIU_FUNCTIONS = [name for name in FUNCTIONS if name in LIU_TOOLBOX_METRICS.values()]

#: values file -> (printed name -> canonical metric, names that are not targets)
FILES = {
    "liu_values.csv": (LIU_TOOLBOX_METRICS, LIU_NOT_TARGETS),
    "tang_values.csv": (TANG_EXTRA_METRICS, {}),
}


def _rows(name: str) -> list[dict[str, str]]:
    with (REFERENCES / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


ROWS = {name: _rows(name) for name in FILES}
#: (triple, printed name, canonical metric, value) of every target row. Where Liu's code fails
#: (a nonzero constant image: ``normalize1`` gives NaN, the histogram index fails), ours is NaN.
TARGETS = [
    (r["triple"], r["metric"], FILES[name][0][r["metric"]], float(r["value"] or "nan"))
    for name, rows in ROWS.items()
    for r in rows
    if r["metric"] in FILES[name][0]
]
ALL_TRIPLES = sorted({t[0] for t in TARGETS})
LOCAL_TRIPLES = [t for t in ALL_TRIPLES if (LOCAL / t).is_dir()]


def _paths(folder: Path) -> list[Path]:
    return [folder / f"{name}.png" for name in ("fused", "ir", "vis")]


def _check_triple(folder: Path, backend: str = "numpy") -> None:
    targets = [t for t in TARGETS if t[0] == folder.name]
    assert {t[2] for t in targets} == set(FUNCTIONS)
    metrics = list(FUNCTIONS) if backend == "numpy" else covered("tang", list(FUNCTIONS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN warnings: see test_compute_warns_on_nan
        if backend == "numpy":
            values = compute(*_paths(folder), metrics=metrics, convention="tang")
        else:
            images = [read_image(path)[None] for path in _paths(folder)]
            batch = compute_batch(*images, metrics=metrics, convention="tang", device="cpu")
            values = {name: float(value[0]) for name, value in batch.items()}
    failures = []
    for triple, printed, metric, ref in targets:
        if metric not in metrics:
            continue
        ours = values[metric]
        if math.isnan(ref) or math.isnan(ours):
            ok = math.isnan(ref) and math.isnan(ours)
        else:
            ok = math.isclose(ours, ref, rel_tol=1e-6, abs_tol=1e-9)
        if not ok:
            failures.append(f"{triple} {printed} ({backend}): ours {ours!r}, reference {ref!r}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", list(FILES))
def test_reference_files_cover_every_metric_and_name_every_row(name):
    targets, not_targets = FILES[name]
    rows = ROWS[name]
    assert {r["metric"] for r in rows} == set(targets) | set(not_targets)
    failed = {(r["triple"], r["metric"]) for r in rows if r["metric"] in targets and r["error"]}
    expected_failures = {("roadscene_FLIR_00006_const128", m) for m in ("NCIE", "TE")}
    assert failed == (expected_failures if name == "liu_values.csv" else set())
    assert all(r["value"] for r in rows if r["metric"] in targets and not r["error"])
    assert all(r["error"] and not r["value"] for r in rows if r["metric"] in not_targets)
    assert {r["triple"] for r in rows} == set(ALL_TRIPLES)
    assert len(ALL_TRIPLES) == 21
    special = {"roadscene_FLIR_00006_const128", "roadscene_FLIR_video_02829_laprgb"}
    assert special <= set(LOCAL_TRIPLES)


#: The fixture triple also checked on the torch backend in the fast suite (small and gray, with
#: flat regions); the torch checks of the others are slow.
FAST_TORCH_TRIPLE = "roadscene_FLIR_00006_max"


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize(
    ("triple", "backend"),
    [
        pytest.param(t, b, marks=() if b == "numpy" or t == FAST_TORCH_TRIPLE else pytest.mark.slow)
        for t in LOCAL_TRIPLES
        for b in ("numpy", "torch")
    ],
)
def test_matches_reference_on_fixture_triples(triple, backend):
    _check_triple(LOCAL / triple, backend)


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_matches_reference_on_all_shared_triples(backend):
    if not SHARED.is_dir():
        pytest.skip("../shared/refs is absent")
    for triple in ALL_TRIPLES:
        _check_triple(SHARED / triple, backend)


def test_gray_triple_gives_the_same_under_every_convention():
    paths = _paths(LOCAL / "tno_Marne_15_mean")
    values = [compute(*paths, metrics=LIU_FUNCTIONS, convention=c) for c in CONVENTIONS]
    assert values[0] == values[1] == values[2]
    for name in FUNCTIONS:
        assert name not in CONVENTIONS["tang"].default_metrics
    for convention in ("cddfuse", "vifb"):
        assert "MS_SSIM" not in CONVENTIONS[convention].implementations


@pytest.mark.parametrize("name", ["Qy", "Qp"])
def test_colour_follows_the_convention(name):
    fused, ir, vis = (read_image(p) for p in _paths(LOCAL / "roadscene_FLIR_video_02829_laprgb"))
    if name == "Qp":  # a crop: Qp's 72 FFTs on 311 rows (a prime) take seconds per call
        fused, ir, vis = (x[100:196, 200:328] for x in (fused, ir, vis))
    as_float = lambda x: x.astype(np.float64)  # noqa: E731
    gray = CONVENTIONS["cddfuse"].to_gray
    got = compute(fused, ir, vis, metrics=name, convention="cddfuse")[name]
    assert got == FUNCTIONS[name](as_float(gray(fused)), as_float(ir), as_float(gray(vis)))
    per_channel = [
        FUNCTIONS[name](as_float(fused[..., k]), as_float(ir), as_float(vis[..., k]))
        for k in range(3)
    ]
    got = compute(fused, ir, vis, metrics=name, convention="vifb")[name]
    assert got == pytest.approx(np.mean(per_channel), rel=1e-15)


# --- properties on synthetic images -------------------------------------------------------------

RNG = np.random.default_rng(7)
A = RNG.integers(0, 256, size=(48, 56)).astype(np.float64)
B = np.clip(A // 2 + RNG.integers(0, 128, size=A.shape), 0, 255).astype(np.float64)
F = np.floor((A + B) / 2)


@pytest.mark.parametrize("name", ["Q0", "Qw", "Qe", "Qy", "NCIE", "TE", "Qp", "MS_SSIM"])
def test_symmetric_in_the_two_sources(name):
    assert FUNCTIONS[name](F, A, B) == pytest.approx(FUNCTIONS[name](F, B, A), rel=1e-12)


def test_qc_depends_on_which_source_comes_first():
    """Cvejic's clipping (weight < 0 -> 0, > 1 -> 1) is not symmetric in the sources."""
    noise = RNG.integers(0, 256, size=A.shape).astype(np.float64)  # covariances of both signs
    assert not math.isclose(yang_cvejic.cvejic_qc(noise, A, B), yang_cvejic.cvejic_qc(noise, B, A))


@pytest.mark.parametrize("name", ["Q0", "Qw", "Qe", "Qy", "Qc", "MS_SSIM"])
def test_perfect_fusion_of_identical_sources_scores_one(name):
    assert FUNCTIONS[name](A, A, A) == pytest.approx(1.0, rel=1e-9)


def test_ncie_known_values():
    """NCC(X, Y) = MI in bits / 8; NCIE = 1 + sum(r log2(r / 3) / 3) / 8 over eigenvalues r."""
    a = np.tile([0.0, 255.0], (8, 4))  # two balanced levels, H = 1 bit
    b = np.repeat([[0.0], [255.0]], 4, axis=0) @ np.ones((1, 8))  # independent of a
    r = np.array([1.0, 1 - 1 / 8, 1 + 1 / 8])  # eigenvalues of [[1,0,1/8],[0,1,0],[1/8,0,1]]
    expected = 1 + np.sum(r * np.log2(r / 3) / 3) / 8
    assert liu_information.ncie(a, a, b) == pytest.approx(expected, rel=1e-12)
    noise = [RNG.integers(0, 256, size=(512, 512)).astype(np.float64) for _ in range(3)]
    independent = 1 - math.log2(3) / 8  # R = identity
    assert liu_information.ncie(*noise) == pytest.approx(independent, abs=0.01)


def test_tsallis_pairs_the_marginals_as_liu_does():
    """Liu's tsallis(source, fused, q) divides p(i, j)^q by (p_F(i) p_S(j))^(q - 1)."""
    source = np.array([[0.0, 0.0, 255.0, 255.0]])
    fused = np.array([[0.0, 255.0, 255.0, 255.0]])
    # joint p(0,0) = p(0,255) = 1/4, p(255,255) = 1/2; p_S = (1/2, 1/2), p_F = (1/4, 3/4).
    q = liu_information.TSALLIS_Q
    s = (0.25**q + 0.25**q) / (0.25 * 0.5) ** (q - 1) + 0.5**q / (0.75 * 0.5) ** (q - 1)
    expected = 2 * (1 - s) / (1 - q)
    assert liu_information.tsallis_entropy(fused, source, source) == pytest.approx(expected)


def test_constant_nonzero_image_gives_nan_for_the_histogram_metrics():
    constant = np.full(A.shape, 128.0)
    assert math.isnan(liu_information.ncie(constant, A, B))
    assert math.isnan(liu_information.tsallis_entropy(constant, A, B))


def test_inputs_are_not_modified_and_uint8_agrees():
    arrays = [x.copy() for x in (F, A, B)]
    as_uint8 = [x.astype(np.uint8) for x in arrays]
    for function in FUNCTIONS.values():
        assert function(*arrays) == function(*as_uint8)
    for array, original in zip(arrays, (F, A, B), strict=True):
        np.testing.assert_array_equal(array, original)


# --- bad input --------------------------------------------------------------------------------


def test_documented_minimum_sizes():
    sides = {name: CONVENTIONS["tang"].implementations[name].min_side for name in FUNCTIONS}
    expected = {"Q0": 11, "Qw": 11, "Qe": 11, "Qy": 11, "Qc": 11, "NCIE": 1, "TE": 1, "Qp": 2}
    assert sides == expected | {"MS_SSIM": 44}


@pytest.mark.parametrize("name", ["Q0", "Qw", "Qe", "Qy", "Qc", "MS_SSIM"])
def test_minimum_size_works_and_one_less_raises(name):
    side = CONVENTIONS["tang"].implementations[name].min_side
    images = [RNG.integers(0, 256, size=(side, side)).astype(np.float64) for _ in range(3)]
    assert math.isfinite(FUNCTIONS[name](*images))
    small = [x[:-1] for x in images]
    with pytest.raises(ValueError, match=rf"{name}: images must be at least {side}x{side}"):
        FUNCTIONS[name](*small)
    with pytest.raises(MetricInputError, match=rf"{name} needs at least {side}x{side}"):
        compute(*(x.astype(np.uint8) for x in small), metrics=name, convention="tang")


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_shape_mismatch_and_colour_are_rejected(name):
    with pytest.raises(ValueError, match=rf"{name}: shape mismatch.*vis is \(49, 56\)"):
        FUNCTIONS[name](F, A, np.zeros((49, 56)))
    with pytest.raises(ValueError, match=rf"{name}: fused must be a 2-D gray image"):
        FUNCTIONS[name](np.zeros((48, 56, 3)), A, B)


# --- Octave's filter2 order (local_ssim) ------------------------------------------------------


def _filter2_valid_octave_whole(window: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Oracle: Octave's ``dconv2i`` as one ``daxpy`` per tap over the whole column-major image
    (the rows that wrap into the next column are garbage and cut off)."""
    kernel = window[::-1, ::-1]
    (m, n), (rows, cols) = kernel.shape, image.shape
    flat = image.ravel(order="F")
    out = np.zeros(rows * (cols - n + 1))
    length = out.size - (m - 1)
    for j in range(n):
        for i in range(m):
            offset = (m - 1 - i) + (n - 1 - j) * rows
            out = blas.daxpy(flat, out, n=length, a=kernel[i, j], offx=offset)
    return out.reshape(cols - n + 1, rows).T[: rows - m + 1]


def test_refined_windows_follow_octave_filter2_order():
    image = np.random.default_rng(3).integers(0, 256, size=(40, 50)).astype(np.float64)
    image[5:25, 10:30] = 255.0  # flat: variances are pure round-off there
    stats = local_ssim.WindowStats({"x": image}, [("x", "x")], 7, 1.5)
    fast = stats.second["x", "x"].copy()
    stats.refine(np.ones(fast.shape, dtype=bool))
    window = local_ssim.fspecial_gaussian(7, 1.5)
    np.testing.assert_array_equal(stats.mean["x"], _filter2_valid_octave_whole(window, image))
    exact = _filter2_valid_octave_whole(window, image * image)
    np.testing.assert_array_equal(stats.second["x", "x"], exact)
    np.testing.assert_allclose(fast, exact, rtol=1e-13)
    assert not np.array_equal(fast, exact)  # the fast filters round differently


def test_fspecial_gaussian_sums_to_one_and_is_symmetric():
    window = local_ssim.fspecial_gaussian(11, 1.5)
    assert window.shape == (11, 11)
    assert abs(window.sum() - 1) < 1e-15
    np.testing.assert_array_equal(window, window.T)
    np.testing.assert_array_equal(window, window[::-1, ::-1])
