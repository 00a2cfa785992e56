"""Helpers for the eval/report tests: the real datasets of ``tests/data/eval/``."""

from __future__ import annotations

import shutil
from pathlib import Path

from ivifbench import __version__
from ivifbench.computation import resolve_metrics
from ivifbench.conventions import get_convention
from ivifbench.eval import EvalSummary, run_eval

EVAL_DATA = Path(__file__).resolve().parent / "data" / "eval"
#: dataset -> (IR folder, VIS folder) names inside tests/data/eval/<dataset>/.
SOURCE_FOLDERS = {"msrs": ("ir", "vi"), "roadscene": ("ir", "vis")}


def dataset_dirs(root: Path, dataset: str) -> tuple[Path, Path, Path]:
    """(results, ir, vis) folders of ``dataset`` under ``root`` (a copy or tests/data/eval)."""
    ir, vis = SOURCE_FOLDERS[dataset]
    base = root / dataset
    return base / "results", base / ir, base / vis


def copy_eval_data(target: Path) -> Path:
    """A writable copy of the image folders of tests/data/eval at ``target``."""
    shutil.copytree(EVAL_DATA, target, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return target


def evaluate(
    root: Path,
    dataset: str,
    output: Path,
    *,
    convention: str = "cddfuse",
    metrics: list[str] | None = None,
    cache_path: Path | None = None,
    workers: int = 1,
) -> EvalSummary:
    """``run_eval`` of one fixture dataset under ``root`` with the test defaults."""
    results, ir, vis = dataset_dirs(root, dataset)
    return run_eval(
        results,
        ir,
        vis,
        output,
        dataset=dataset,
        convention=convention,
        metrics=resolve_metrics(get_convention(convention), metrics),
        version=__version__,
        workers=workers,
        cache_path=cache_path,
        progress=False,
    )


def evaluate_all(output: Path) -> Path:
    """Per-image table of every fixture dataset (cddfuse defaults) at ``output``."""
    for dataset in SOURCE_FOLDERS:
        evaluate(EVAL_DATA, dataset, output)
    return output
