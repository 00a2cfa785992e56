"""Reproduce the reference toolboxes' printed values (``values.csv`` of ``../shared/refs``).

Every row that maps (through ``ivifbench.toolbox_names``) to a metric implemented here must agree
to 1e-6 relative or 1e-9 absolute, NaN where the reference is NaN. The ``cddfuse`` rows are the
evaluator as shipped, in float32: our float64 values reproduce ``cddfuse_f64`` and stay within
the float32 round-off the reference README documents (SSIM up to 3.5e-5 relative).
The same rows are checked on the torch backend (``compute_batch`` on CPU, batch of one).
"""

from __future__ import annotations

import csv
import functools
import math
import warnings
from pathlib import Path

import pytest

from ivifbench import CONVENTIONS, compute, compute_batch
from ivifbench.toolbox_names import (
    LIU_TOOLBOX_METRICS,
    NOT_TARGETS,
    REFERENCE_METRICS,
    TANG_EXTRA_METRICS,
    TANG_FMI_METRICS,
)
from ivifdata.imageio import read_image

LOCAL = Path(__file__).resolve().parent / "data" / "triples"
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "refs"

REL, ABS = 1e-6, 1e-9
#: float32 SSIM of the shipped CDDFuse evaluator vs float64 (README: up to 3.5e-5 here).
CDDFUSE_F32_SSIM_REL = 5e-5
#: Han's VIFF rows map to ``cddfuse``; the same function serves ``tang`` and ``vifb`` (checked
#: against the han rows under every convention in ``test_metrics_extra.py``).
VIFF_ELSEWHERE = {("tang", "VIFF"), ("vifb", "VIFF")}
#: Pinned to their own reference files (``tests/references``) in ``test_metrics_toolboxes.py``.
LIU_ELSEWHERE = {(c, m) for c in CONVENTIONS for m in LIU_TOOLBOX_METRICS.values()}
LIU_ELSEWHERE |= {("tang", m) for m in TANG_EXTRA_METRICS.values()}
LIU_ELSEWHERE |= {("tang", m) for m in TANG_FMI_METRICS.values()}  # test_metrics_fmi.py


@functools.cache
def read_rows(values_csv: Path) -> tuple[dict[str, str], ...]:
    with values_csv.open(newline="") as fh:
        return tuple(csv.DictReader(fh))


def is_target(row: dict[str, str]) -> bool:
    """A row to reproduce: not a diagnostic, and the reference returned a value."""
    return (row["reference"], row["metric"]) not in NOT_TARGETS and not row["error"]


def is_implemented(row: dict[str, str]) -> bool:
    convention, metric = REFERENCE_METRICS[row["reference"], row["metric"]]
    return metric in CONVENTIONS[convention].implementations


def _paths(root: Path, triple: str) -> list[Path]:
    folder = root / "triples" if root == SHARED else root
    return [folder / triple / f"{name}.png" for name in ("fused", "ir", "vis")]


def _reference_metrics(convention: str) -> list[str]:
    """Every implemented metric of ``convention`` but those pinned elsewhere."""
    implementations = CONVENTIONS[convention].implementations
    return [m for m in implementations if (convention, m) not in LIU_ELSEWHERE]


@functools.cache
def computed(root: Path, triple: str, convention: str, backend: str = "numpy") -> dict[str, float]:
    """Our values of one triple: ``compute`` (numpy) or ``compute_batch`` (torch, CPU)."""
    metrics = _reference_metrics(convention)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN warnings are tested in test_metrics_api
        if backend == "numpy":
            return compute(*_paths(root, triple), metrics=metrics, convention=convention)
        images = [read_image(path)[None] for path in _paths(root, triple)]
        values = compute_batch(*images, metrics=metrics, convention=convention, device="cpu")
    return {name: float(value[0]) for name, value in values.items()}


def mismatch(root: Path, row: dict[str, str], backend: str = "numpy") -> str | None:
    """None when our value agrees with the row, else a one-line description."""
    convention, metric = REFERENCE_METRICS[row["reference"], row["metric"]]
    ours = computed(root, row["triple"], convention, backend)[metric]
    ref = float(row["value"])
    if math.isnan(ref) or math.isnan(ours):
        ok = math.isnan(ref) and math.isnan(ours)
    else:
        rel = REL
        if row["reference"] == "cddfuse" and metric == "SSIM":
            rel = CDDFUSE_F32_SSIM_REL
        ok = math.isclose(ours, ref, rel_tol=rel, abs_tol=ABS)
    if ok:
        return None
    return (
        f"{row['triple']} {row['reference']} {row['metric']} ({backend}): ours {ours!r}, "
        f"reference {ref!r}"
    )


LOCAL_ROWS = [r for r in read_rows(LOCAL / "values.csv") if is_target(r) and is_implemented(r)]
#: The triple whose torch rows run in the fast suite (small, gray, most Qabf ties, Nabf); the
#: torch rows of the others are slow (seconds of CPU torch per triple and convention).
FAST_TORCH_TRIPLES = {"roadscene_FLIR_00006_max"}


def _row_params() -> list:
    params = []
    for row in LOCAL_ROWS:
        name = f"{row['triple']}-{row['reference']}-{row['metric']}"
        params.append(pytest.param(row, "numpy", id=f"numpy-{name}"))
        slow = () if row["triple"] in FAST_TORCH_TRIPLES else (pytest.mark.slow,)
        params.append(pytest.param(row, "torch", id=f"torch-{name}", marks=slow))
    return params


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize(("row", "backend"), _row_params())
def test_reference_row(row: dict[str, str], backend: str) -> None:
    assert mismatch(LOCAL, row, backend) is None


def test_local_rows_cover_every_implemented_metric_and_convention() -> None:
    covered = {REFERENCE_METRICS[r["reference"], r["metric"]] for r in LOCAL_ROWS}
    implemented = {(c.name, m) for c in CONVENTIONS.values() for m in c.implementations}
    assert implemented <= covered | VIFF_ELSEWHERE | LIU_ELSEWHERE
    assert len(LOCAL_ROWS) >= 200


def test_every_reference_name_is_mapped_and_every_target_is_tested() -> None:
    rows = read_rows(LOCAL / "values.csv")
    for row in rows:
        key = (row["reference"], row["metric"])
        assert key in REFERENCE_METRICS or key in NOT_TARGETS, key
    untested = {
        REFERENCE_METRICS[r["reference"], r["metric"]][1]
        for r in rows
        if is_target(r) and not is_implemented(r)
    }
    assert not untested


def _shared_triples() -> list:
    folder = SHARED / "triples"
    if not folder.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason="../shared/refs is absent"))]
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


@pytest.mark.shared
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=pytest.mark.slow)])
@pytest.mark.parametrize("triple", _shared_triples())
def test_shared_reference_triple(triple: str, backend: str) -> None:
    rows = [
        r
        for r in read_rows(SHARED / "values.csv")
        if r["triple"] == triple and is_target(r) and is_implemented(r)
    ]
    assert len(rows) >= 40
    failures = [m for row in rows if (m := mismatch(SHARED, row, backend))]
    assert not failures, "\n".join(failures)
