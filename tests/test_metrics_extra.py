"""EI, CE, Qcb, Qcv, Nabf and VIFF against the values printed by VIFB, Tang's code and Han's
``VIFF_Public.m`` (tolerance: 1e-6 relative, 1e-9 absolute near zero, NaN where NaN)."""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ivifbench.metrics import cross_entropy, edge_intensity, nabf, qcb, qcv, viff
from ivifdata.imageio import read_image

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "data" / "triples_extra"
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
    call = REFERENCE_CALLS[(row["reference"], row["metric"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN rows warn by design
        actual = call(*triple)
    _assert_matches(actual, float(row["value"]), f"{row['triple']} {row['metric']}")


FIXTURE_ROWS = _reference_rows(FIXTURES / "expected.csv")


def test_fixture_rows_cover_every_metric_and_the_special_triples():
    covered = {(r["reference"], r["metric"]) for r in FIXTURE_ROWS}
    assert covered == set(REFERENCE_CALLS)
    triples = {r["triple"] for r in FIXTURE_ROWS}
    assert {"roadscene_FLIR_00006_const128", "roadscene_FLIR_video_02829_laprgb"} <= triples


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
def test_constant_image_gives_nan_with_warning(name):
    constant = np.full(FUSED.shape, 128, np.uint8)
    with pytest.warns(RuntimeWarning, match=name):
        assert math.isnan(SOURCE_METRICS[name](constant, SOURCES_A, SOURCES_B))


# --- bad input --------------------------------------------------------------------------------

MIN_SIZES = {
    "EI": edge_intensity.MIN_SIZE,
    "CE": cross_entropy.MIN_SIZE,
    "Qcb": qcb.MIN_SIZE,
    "Qcv": qcv.MIN_SIZE,
    "Nabf": nabf.MIN_SIZE,
    "VIFF": viff.MIN_SIZE,
}


def _call(name: str, fused, ir, vis) -> float:
    if name == "EI":
        return edge_intensity.edge_intensity(fused)
    return SOURCE_METRICS[name](fused, ir, vis)


def test_documented_minimum_sizes():
    assert MIN_SIZES == {
        "EI": (3, 3),
        "CE": (1, 1),
        "Qcb": (31, 31),
        "Qcv": (16, 16),
        "Nabf": (3, 3),
        "VIFF": (41, 41),
    }


@pytest.mark.parametrize("name", list(MIN_SIZES))
def test_minimum_size_works_and_one_less_raises(name):
    rows, cols = MIN_SIZES[name]
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


@pytest.mark.parametrize("name", list(MIN_SIZES))
def test_colour_array_is_rejected(name):
    colour = np.zeros((64, 80, 3), np.uint8)
    with pytest.raises(ValueError, match=rf"{name}: fused must be a 2-D gray image"):
        _call(name, colour, SOURCES_A, SOURCES_B)


def test_cross_entropy_rejects_non_integer_and_out_of_range_levels():
    with pytest.raises(ValueError, match="CE: fused must hold integer grey levels 0-255"):
        cross_entropy.cross_entropy(FUSED + 0.5, SOURCES_A, SOURCES_B)
    with pytest.raises(ValueError, match="CE: ir must hold integer grey levels 0-255"):
        cross_entropy.cross_entropy(FUSED, SOURCES_A.astype(int) + 256, SOURCES_B)
