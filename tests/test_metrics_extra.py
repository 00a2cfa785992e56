"""EI, CE, Qcb, Qcv, Nabf and VIFF against the values printed by VIFB, Tang's code and Han's
``VIFF_Public.m`` (tolerance: 1e-6 relative, 1e-9 absolute near zero, NaN where NaN)."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ivifbench import CONVENTIONS, DegenerateMetricWarning, MetricInputError, compute
from ivifbench.metrics import cross_entropy, edge_intensity, matlab_compat, nabf, qcb, qcv, viff
from ivifdata.imageio import read_image

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "data" / "triples"
SHARED_REFS = HERE.parents[0] / ".." / "shared" / "refs"

Triple = tuple[np.ndarray, np.ndarray, np.ndarray]  # fused, ir, vis as read


def _vifb_per_channel(metric: Callable[[np.ndarray, np.ndarray, np.ndarray], float]):
    """VIFB's colour rule: metric(F_k, IR, VIS_k) for each channel k, averaged."""

    def run(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> float:
        if fused.ndim == 2:
            return metric(fused, ir, vis)
        return float(np.mean([metric(fused[..., k], ir, vis[..., k]) for k in range(3)]))

    return run


#: (reference, metric name printed by it) -> how the reference called the function.
REFERENCE_CALLS: dict[tuple[str, str], Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    ("vifb", "Edge_intensity"): _vifb_per_channel(lambda f, a, b: edge_intensity.edge_intensity(f)),
    ("vifb", "Cross_entropy"): _vifb_per_channel(cross_entropy.cross_entropy),
    ("vifb", "Qcb"): _vifb_per_channel(qcb.qcb),
    ("vifb", "Qcv"): _vifb_per_channel(qcv.qcv),
    # Tang's analysis_Reference calls analysis_nabf(IR, VIS, F) against its (f, I1, I2) signature.
    ("tang", "Nabf"): lambda f, a, b: nabf.nabf(a, b, f),
    ("tang", "diag_Nabf_fused_first"): nabf.nabf,
    ("han", "VIFF(Han2013)"): viff.viff,
}


def _read_triple(folder: Path) -> Triple:
    return tuple(read_image(folder / f"{name}.png") for name in ("fused", "ir", "vis"))


def _reference_rows(values_csv: Path, triples: set[str] | None = None) -> list[dict[str, str]]:
    with values_csv.open(newline="") as fh:
        rows = [
            row
            for row in csv.DictReader(fh)
            if (row["reference"], row["metric"]) in REFERENCE_CALLS
            and not row["error"]
            and (triples is None or row["triple"] in triples)
        ]
    return rows


def _assert_matches(actual: float, expected: float, what: str) -> None:
    if math.isnan(expected):
        assert math.isnan(actual), f"{what}: expected NaN, got {actual!r}"
        return
    assert abs(actual - expected) <= max(1e-6 * abs(expected), 1e-9), (
        f"{what}: got {actual!r}, reference {expected!r}"
    )


def _check_row(row: dict[str, str], triple: Triple) -> None:
    actual = REFERENCE_CALLS[(row["reference"], row["metric"])](*triple)
    _assert_matches(actual, float(row["value"]), f"{row['triple']} {row['metric']}")


FIXTURE_ROWS = _reference_rows(FIXTURES / "values.csv")


def test_fixture_rows_cover_every_metric_and_the_special_triples():
    covered = {(r["reference"], r["metric"]) for r in FIXTURE_ROWS}
    assert covered == set(REFERENCE_CALLS)
    triples = {r["triple"] for r in FIXTURE_ROWS}
    assert {"roadscene_FLIR_00006_const128", "roadscene_FLIR_video_02829_laprgb"} <= triples
    assert sum(r["metric"] == "Nabf" for r in FIXTURE_ROWS) == 4


@pytest.mark.parametrize(
    "row", FIXTURE_ROWS, ids=[f"{r['triple']}-{r['metric']}" for r in FIXTURE_ROWS]
)
def test_matches_reference_on_fixture_triples(row):
    _check_row(row, _read_triple(FIXTURES / row["triple"]))


@pytest.mark.shared
def test_matches_reference_on_all_shared_triples():
    values_csv = SHARED_REFS / "values.csv"
    if not values_csv.is_file():
        pytest.skip("../shared/refs is absent")
    rows = _reference_rows(values_csv)
    by_triple: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_triple.setdefault(row["triple"], []).append(row)
    assert len(by_triple) == 21
    for triple_id, triple_rows in by_triple.items():
        triple = _read_triple(SHARED_REFS / "triples" / triple_id)
        for row in triple_rows:
            _check_row(row, triple)


# --- properties on synthetic images -------------------------------------------------------------

RNG = np.random.default_rng(20240601)
SOURCES_A = RNG.integers(0, 256, size=(64, 80)).astype(np.uint8)
SOURCES_B = np.clip(SOURCES_A.astype(int) // 2 + RNG.integers(0, 128, size=(64, 80)), 0, 255)
FUSED = ((SOURCES_A.astype(int) + SOURCES_B) // 2).astype(np.uint8)

SOURCE_METRICS = {
    "CE": cross_entropy.cross_entropy,
    "Qcb": qcb.qcb,
    "Qcv": qcv.qcv,
    "Nabf": nabf.nabf,
    "VIFF": viff.viff,
}


@pytest.mark.parametrize("name", ["CE", "Qcb", "Qcv", "Nabf"])
def test_symmetric_in_the_two_sources(name):
    metric = SOURCE_METRICS[name]
    assert metric(FUSED, SOURCES_A, SOURCES_B) == pytest.approx(
        metric(FUSED, SOURCES_B, SOURCES_A), rel=1e-12
    )


@pytest.mark.parametrize("rows", [3, 64, 65, 129])
def test_banded_sobel_metrics_are_invariant_to_flips(rows):
    """EI and Nabf run in row bands; a vertical flip or a transpose moves the band boundaries,
    and the values must not change (Sobel magnitudes and orientation differences are
    invariant)."""
    rng = np.random.default_rng(rows)
    images = [rng.integers(0, 256, size=(rows, 70)).astype(np.float64) for _ in range(3)]
    for metric in (lambda f, a, b: edge_intensity.edge_intensity(f), nabf.nabf):
        value = metric(*images)
        assert value > 0
        assert metric(*(np.flipud(x) for x in images)) == pytest.approx(value, rel=1e-12)
        assert metric(*(x.T for x in images)) == pytest.approx(value, rel=1e-12)


def test_ranges_on_a_plain_average():
    assert edge_intensity.edge_intensity(FUSED) > 0
    assert 0 < qcb.qcb(FUSED, SOURCES_A, SOURCES_B) < 1
    assert qcv.qcv(FUSED, SOURCES_A, SOURCES_B) > 0
    assert 0 <= nabf.nabf(FUSED, SOURCES_A, SOURCES_B) < 1
    assert 0 < viff.viff(FUSED, SOURCES_A, SOURCES_B) < 1


def test_perfect_fusion_of_identical_sources():
    assert cross_entropy.cross_entropy(SOURCES_A, SOURCES_A, SOURCES_A) == 0.0
    assert qcv.qcv(SOURCES_A, SOURCES_A, SOURCES_A) == pytest.approx(0.0, abs=1e-20)
    assert nabf.nabf(SOURCES_A, SOURCES_A, SOURCES_A) == 0.0
    assert qcb.qcb(SOURCES_A, SOURCES_A, SOURCES_A) == pytest.approx(1.0, rel=1e-12)


def test_edge_intensity_known_values():
    assert edge_intensity.edge_intensity(np.full((5, 5), 77, np.uint8)) == 0.0
    ramp = np.tile(np.arange(6, dtype=float) * 3, (4, 1))  # d/dx = 3 per pixel
    # Sobel gives 4 * 2 * 3 = 24 inside, 4 * 3 = 12 on the replicated left/right columns.
    assert edge_intensity.edge_intensity(ramp) == pytest.approx((4 * 24 + 2 * 12) / 6)


def test_cross_entropy_known_value():
    fused = np.array([[0, 0, 1, 1]], dtype=np.uint8)
    source = np.array([[0, 0, 0, 1]], dtype=np.uint8)
    expected = 0.75 * math.log2(0.75 / 0.5) + 0.25 * math.log2(0.25 / 0.5)
    assert cross_entropy.cross_entropy(fused, source, source) == pytest.approx(expected)


def test_uint8_and_float64_inputs_agree():
    as_float = [x.astype(np.float64) for x in (FUSED, SOURCES_A, SOURCES_B)]
    for metric in SOURCE_METRICS.values():
        assert metric(FUSED, SOURCES_A, SOURCES_B) == metric(*as_float)
    assert edge_intensity.edge_intensity(FUSED) == edge_intensity.edge_intensity(as_float[0])


@pytest.mark.parametrize("name", ["Qcb", "Qcv"])
def test_constant_image_gives_nan(name):
    constant = np.full(FUSED.shape, 128, np.uint8)
    assert math.isnan(SOURCE_METRICS[name](constant, SOURCES_A, SOURCES_B))


# --- bad input --------------------------------------------------------------------------------

MIN_SIDES = {
    "EI": edge_intensity.MIN_SIDE,
    "CE": cross_entropy.MIN_SIDE,
    "Qcb": qcb.MIN_SIDE,
    "Qcv": qcv.MIN_SIDE,
    "Nabf": nabf.MIN_SIDE,
    "VIFF": viff.MIN_SIDE,
}


def _call(name: str, fused, ir, vis) -> float:
    if name == "EI":
        return edge_intensity.edge_intensity(fused)
    return SOURCE_METRICS[name](fused, ir, vis)


def test_documented_minimum_sizes():
    assert MIN_SIDES == {"EI": 3, "CE": 1, "Qcb": 31, "Qcv": 16, "Nabf": 3, "VIFF": 41}


@pytest.mark.parametrize("name", list(MIN_SIDES))
def test_minimum_size_works_and_one_less_raises(name):
    rows = cols = MIN_SIDES[name]
    images = [RNG.integers(0, 256, size=(rows, cols)).astype(np.uint8) for _ in range(3)]
    assert math.isfinite(_call(name, *images))
    for shape in ((rows - 1, cols), (rows, cols - 1)):
        if 0 in shape:
            shape = (0, 0)
        small = [np.zeros(shape, np.uint8) for _ in range(3)]
        with pytest.raises(ValueError, match=rf"{name}: images must be at least {rows}x{cols}"):
            _call(name, *small)


@pytest.mark.parametrize("name", ["CE", "Qcb", "Qcv", "Nabf", "VIFF"])
def test_shape_mismatch_names_the_argument(name):
    other = np.zeros((FUSED.shape[0] + 1, FUSED.shape[1]), np.uint8)
    with pytest.raises(ValueError, match=rf"{name}: shape mismatch.*vis is \(65, 80\)"):
        SOURCE_METRICS[name](FUSED, SOURCES_A, other)


@pytest.mark.parametrize("name", list(MIN_SIDES))
def test_colour_array_is_rejected(name):
    colour = np.zeros((64, 80, 3), np.uint8)
    with pytest.raises(ValueError, match=rf"{name}: fused must be a 2-D gray image"):
        _call(name, colour, SOURCES_A, SOURCES_B)


def test_cross_entropy_rejects_non_integer_and_out_of_range_levels():
    with pytest.raises(ValueError, match="CE: fused: expected integer grey levels 0-255"):
        cross_entropy.cross_entropy(FUSED + 0.5, SOURCES_A, SOURCES_B)
    with pytest.raises(ValueError, match="CE: ir: expected integer grey levels 0-255"):
        cross_entropy.cross_entropy(FUSED, SOURCES_A.astype(int) + 256, SOURCES_B)


# --- through ivifbench.compute (convention wiring) ------------------------------------------


def _paths(triple_id: str) -> list[Path]:
    return [FIXTURES / triple_id / f"{name}.png" for name in ("fused", "ir", "vis")]


def _row_value(triple_id: str, reference: str, metric: str) -> float:
    (row,) = [
        r
        for r in FIXTURE_ROWS
        if (r["triple"], r["reference"], r["metric"]) == (triple_id, reference, metric)
    ]
    return float(row["value"])


@pytest.mark.parametrize("triple_id", ["roadscene_FLIR_00006_max", "msrs_00004N_lap"])
def test_compute_tang_nabf_has_the_argument_order_quirk(triple_id):
    value = compute(*_paths(triple_id), metrics="Nabf", convention="tang")["Nabf"]
    _assert_matches(value, _row_value(triple_id, "tang", "Nabf"), "tang Nabf")
    signature_order = _row_value(triple_id, "tang", "diag_Nabf_fused_first")
    assert not math.isclose(value, signature_order, rel_tol=1e-3)
    fused, ir, vis = (read_image(p).astype(np.float64) for p in _paths(triple_id))
    assert nabf.nabf(fused, ir, vis) == pytest.approx(signature_order, rel=1e-6)


def test_compute_vifb_extra_metrics_on_the_colour_triple():
    triple_id = "roadscene_FLIR_video_02829_laprgb"
    values = compute(*_paths(triple_id), metrics="EI,CE,Qcb,Qcv", convention="vifb")
    names = {"EI": "Edge_intensity", "CE": "Cross_entropy", "Qcb": "Qcb", "Qcv": "Qcv"}
    for name, printed in names.items():
        _assert_matches(values[name], _row_value(triple_id, "vifb", printed), name)


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_compute_viff_under_every_convention(convention):
    triple_id = "roadscene_FLIR_00006_max"
    value = compute(*_paths(triple_id), metrics="VIFF", convention=convention)["VIFF"]
    _assert_matches(value, _row_value(triple_id, "han", "VIFF(Han2013)"), convention)
    assert "VIFF" not in CONVENTIONS[convention].default_metrics


def test_compute_viff_on_colour_follows_the_convention():
    """Han's code fails on colour VIS/F; ours uses each convention's colour handling."""
    fused, ir, vis = (read_image(p) for p in _paths("roadscene_FLIR_video_02829_laprgb"))
    as_float = lambda x: x.astype(np.float64)  # noqa: E731
    for convention in ("cddfuse", "tang"):
        to_gray = CONVENTIONS[convention].to_gray
        expected = viff.viff(as_float(to_gray(fused)), as_float(ir), as_float(to_gray(vis)))
        got = compute(fused, ir, vis, metrics="VIFF", convention=convention)["VIFF"]
        assert got == expected
    per_channel = [
        viff.viff(as_float(fused[..., k]), as_float(ir), as_float(vis[..., k])) for k in range(3)
    ]
    got = compute(fused, ir, vis, metrics="VIFF", convention="vifb")["VIFF"]
    assert got == pytest.approx(np.mean(per_channel), rel=1e-15)


def test_compute_degenerate_triple_warns_for_qcb_and_qcv_only():
    with pytest.warns(DegenerateMetricWarning) as caught:
        values = compute(
            *_paths("roadscene_FLIR_00006_const128"),
            metrics="EI,CE,Qcb,Qcv,VIFF",
            convention="vifb",
        )
    assert math.isnan(values["Qcb"]) and math.isnan(values["Qcv"])
    assert values["EI"] == 0.0 and values["CE"] < 0 and 0 < values["VIFF"] < 1e-5
    warned = sorted(str(w.message).split()[0] for w in caught)
    assert warned == ["Qcb", "Qcv"]


def test_compute_reports_the_minimum_sizes():
    small = np.zeros((30, 40), np.uint8)
    with pytest.raises(
        MetricInputError, match=r"30x40 pixels; Qcb needs at least 31x31; VIFF needs at least 41x41"
    ):
        compute(small, small, small, metrics="EI,CE,Qcv,Qcb,VIFF", convention="vifb")
    tiny = np.zeros((2, 2), np.uint8)
    with pytest.raises(MetricInputError, match=r"Nabf needs at least 3x3"):
        compute(tiny, tiny, tiny, metrics="Nabf", convention="tang")


# --- helpers and purity ------------------------------------------------------------------------


def test_inputs_are_not_modified():
    arrays = [x.astype(np.float64) for x in (FUSED, SOURCES_A, SOURCES_B)]
    copies = [x.copy() for x in arrays]
    edge_intensity.edge_intensity(arrays[0])
    for metric in SOURCE_METRICS.values():
        metric(*arrays)
    for array, copy in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(array, copy)


def test_normalize1_stretch_rounds_halves_up_and_keeps_matlab_degenerate_cases():
    # round(x / 2 * 255): 127.5 -> 128, 63.75 -> 64, 191.25 -> 191.
    stretched = matlab_compat.minmax_stretch_255(np.array([[0.0, 1.0, 2.0], [0.5, 1.5, 2.0]]))
    np.testing.assert_array_equal(stretched, [[0, 128, 255], [64, 191, 255]])
    half_down_in_numpy = matlab_compat.minmax_stretch_255(np.array([[0.0, 1.0, 102.0]]))
    np.testing.assert_array_equal(half_down_in_numpy, [[0, 3, 255]])  # 2.5 -> 3, np.round -> 2
    zeros = np.zeros((2, 3))
    assert matlab_compat.minmax_stretch_255(zeros) is zeros
    assert np.isnan(matlab_compat.minmax_stretch_255(np.full((2, 3), 7.0))).all()


@pytest.mark.parametrize("size", [4, 5])
def test_freqspace_matches_matlab(size):
    # MATLAB freqspace: [-n:2:n-2]/n for even n, [-n+1:2:n-1]/n for odd n.
    start = -size if size % 2 == 0 else -size + 1
    expected = np.arange(start, size - 1 + 1, 2)[:size] / size
    np.testing.assert_allclose(
        matlab_compat.centred_frequencies(size), expected, rtol=0, atol=1e-15
    )
    radius = matlab_compat.half_spectrum_radius(size, size + 1, 2.0, 3.0)
    assert radius.shape == (size, (size + 1) // 2 + 1)
    assert radius[0, 0] == 0.0
