"""Zhao's Qp (``ivifbench.metrics.phase_congruency``): the small synthetic triples pinned to
Liu's ``metricZhao.m`` run by Octave (``tests/references/qp_small_values.csv``; the real triples
are in ``test_metrics_toolboxes.py``), the compiled path against the numpy reference, the exact
median kernel, degenerate and bad input."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from ivifbench import DegenerateMetricWarning, MetricInputError, compute
from ivifbench.metrics import kernels, phase_kernels
from ivifbench.metrics import phase_congruency as pc_module
from ivifbench.metrics.phase_congruency import (
    MIN_SIDE,
    filter_bank,
    phase_congruency,
    zhao_qp,
)
from ivifdata.imageio import read_image

HERE = Path(__file__).resolve().parent
SMALL = HERE / "data" / "qp_small"
with (HERE / "references" / "qp_small_values.csv").open(newline="") as fh:
    SMALL_ROWS = {r["triple"]: float(r["value"]) for r in csv.DictReader(fh)}


def _triple(folder: Path) -> list[np.ndarray]:
    return [
        read_image(folder / f"{name}.png").astype(np.float64) for name in ("fused", "ir", "vis")
    ]


def _same(ours: float, ref: float) -> bool:
    if math.isnan(ref) or math.isnan(ours):
        return math.isnan(ref) and math.isnan(ours)
    return math.isclose(ours, ref, rel_tol=1e-6, abs_tol=1e-9)


def test_small_reference_file_covers_the_fixture_folders():
    folders = {p.name for p in SMALL.iterdir() if p.is_dir()}
    assert set(SMALL_ROWS) == folders
    assert sum(math.isnan(v) for v in SMALL_ROWS.values()) == 2  # 2 x 5 and all-constant


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("triple", sorted(SMALL_ROWS))
def test_small_triples_match_octave(triple, compiled):
    images = _triple(SMALL / triple)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stray numpy warnings, NaN included
        if compiled:
            ours = zhao_qp(*images)
        else:
            with kernels.reference_path():
                ours = zhao_qp(*images)
    assert isinstance(ours, float)
    assert _same(ours, SMALL_ROWS[triple]), (ours, SMALL_ROWS[triple])


RNG = np.random.default_rng(11)


def _adversarial() -> dict[str, np.ndarray]:
    ramp = np.add.outer(np.arange(33.0), np.arange(47.0)) * 3
    checker = (np.indices((40, 41)).sum(axis=0) % 2) * 255.0
    return {
        "random_odd": RNG.integers(0, 256, size=(45, 67)).astype(np.float64),
        "random_even": RNG.integers(0, 256, size=(48, 64)).astype(np.float64),
        "constant": np.full((30, 35), 77.0),
        "zeros": np.zeros((24, 25)),
        "ramp": ramp,
        "checker_saturated": checker,
        "tiny": RNG.integers(0, 256, size=(MIN_SIDE, MIN_SIDE)).astype(np.float64),
        "thin": RNG.integers(0, 256, size=(3, 50)).astype(np.float64),
    }


@pytest.mark.parametrize("name", list(_adversarial()))
def test_compiled_phase_congruency_matches_numpy_reference(name):
    image = _adversarial()[name]
    fast = phase_congruency(image)
    with kernels.reference_path():
        slow = phase_congruency(image)
    for got, want in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_zero_image_has_zero_phase_congruency_and_nan_moments():
    """Every filter response of an all-zero image is exactly 0: PC = 0 / (0 + eps) = 0, and
    the per-orientation 0/0 makes both moments NaN, as in myphasecong3."""
    result = phase_congruency(np.zeros((30, 35)))
    assert np.all(result.pc == 0)
    assert np.all(np.isnan(result.big_m)) and np.all(np.isnan(result.small_m))


def test_compiled_qp_matches_numpy_reference_on_random_triples():
    for shape in [(45, 67), (64, 48)]:
        a, b = (RNG.integers(0, 256, size=shape).astype(np.float64) for _ in range(2))
        fused = np.floor((a + b) / 2)
        fast = zhao_qp(fused, a, b)
        with kernels.reference_path():
            slow = zhao_qp(fused, a, b)
        assert fast == pytest.approx(slow, rel=1e-10)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 1000, 1001, 4096, 4097, 70_001, 307_200])
def test_median_kernel_is_exact(n):
    values = RNG.random(n)
    values[::3] = 0.5  # ties
    for case in (values, np.sort(values), np.zeros(n)):
        expected = np.median(case)
        assert phase_kernels.median(case.copy(), np.empty(n)) == expected


def test_median_kernel_falls_back_when_the_sample_misses_the_middle():
    """The bracket comes from every 17th value: make those the largest ones."""
    values = RNG.random(17 * 4000)
    values[::17] += 10.0
    assert phase_kernels.median(values.copy(), np.empty(values.size)) == np.median(values)


def test_filter_bank_is_cached_and_read_only():
    bank = filter_bank(20, 21)
    assert filter_bank(20, 21) is bank
    assert bank.log_gabor.shape == (4, 20, 21) and bank.spread.shape == (6, 20, 21)
    assert np.all(bank.log_gabor[:, 0, 0] == 0)  # the DC term of every log-Gabor filter
    with pytest.raises(ValueError):
        bank.log_gabor[0, 1, 1] = 1.0


def test_no_feature_pixel_gives_nan_and_compute_warns():
    """No pixel of either source with PC > 0.1 (constant sources): Liu divides 0 by 0."""
    flat = np.full((37, 51), 200, dtype=np.uint8)
    fused = RNG.integers(0, 256, size=flat.shape).astype(np.uint8)
    with pytest.warns(DegenerateMetricWarning, match="Qp"):
        value = compute(fused, flat, flat, metrics="Qp", convention="tang")["Qp"]
    assert math.isnan(value)


def test_inputs_are_not_modified():
    images = [RNG.integers(0, 256, size=(40, 42)).astype(np.float64) for _ in range(3)]
    copies = [x.copy() for x in images]
    zhao_qp(*images)
    for image, copy in zip(images, copies, strict=True):
        np.testing.assert_array_equal(image, copy)


def test_one_pixel_side_is_rejected():
    images = [np.zeros((1, 30)) for _ in range(3)]
    with pytest.raises(ValueError, match=r"Qp: images must be at least 2x2"):
        zhao_qp(*images)
    with pytest.raises(MetricInputError, match=r"Qp needs at least 2x2"):
        compute(*(x.astype(np.uint8) for x in images), metrics="Qp", convention="vifb")


def test_shared_sources_computes_the_source_maps_once(monkeypatch):
    ir, vis, fused_1, fused_2 = (
        RNG.integers(0, 256, size=(40, 44), dtype=np.uint8) for _ in range(4)
    )
    expected = [
        compute(f, ir, vis, metrics="Qp", convention="tang")["Qp"] for f in (fused_1, fused_2)
    ]
    calls = []
    original = pc_module.phase_congruency
    monkeypatch.setattr(pc_module, "phase_congruency", lambda x: calls.append(1) or original(x))
    with kernels.shared_sources():
        got = [
            compute(f, ir, vis, metrics="Qp", convention="tang")["Qp"] for f in (fused_1, fused_2)
        ]
    assert got == expected
    assert len(calls) == 4  # IR and VIS once, each fused image once
