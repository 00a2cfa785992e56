"""Fixtures shared by the tests: the bundled data folders, the released models loaded from the
fixture checkpoints, the eval helpers on ``tests/data/eval`` and a tiny patch bank."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
#: dataset -> (IR folder, VIS folder) names inside tests/data/eval/<dataset>/.
SOURCE_FOLDERS = {"msrs": ("ir", "vi"), "roadscene": ("ir", "vis")}
#: 16 patches of 32x32, 16 pairs per epoch: 4 steps per epoch at batch 4.
TINY_BANK = ["patch.size=32", "patch.stride=32", "subset.n=16", "pairing.ratio=1"]


# --- paths ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` next to the checkout (present here and in CI, absent on a user's machine)."""
    return ROOT / ".." / "shared"


@pytest.fixture(scope="session")
def models_data() -> Path:
    """``tests/data/models``: real MSRS pairs, released checkpoints, published fused maps."""
    return TESTS / "data" / "models"


@pytest.fixture(scope="session")
def eval_data() -> Path:
    """``tests/data/eval`` (read-only): result folders and sources of msrs and roadscene."""
    return TESTS / "data" / "eval"


@pytest.fixture
def eval_copy(tmp_path: Path, eval_data: Path) -> Path:
    """A writable copy of the image folders of tests/data/eval at ``tmp_path / "data"``."""
    return Path(
        shutil.copytree(eval_data, tmp_path / "data", ignore=shutil.ignore_patterns("*.py", "*.md"))
    )


# --- released models -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def released_files(models_data: Path) -> dict[str, Path]:
    """Model name -> its released checkpoint among the fixtures (``CNN.model`` ...)."""
    stems = {"cnn": "CNN", "transformer": "Trans", "gan": "GAN"}
    return {name: models_data / "weights" / f"{stem}.model" for name, stem in stems.items()}


@pytest.fixture(scope="session")
def released(released_files: dict[str, Path]) -> Callable[[str], object]:
    """``released(name)``: the released model loaded once per session (eval mode, CPU)."""
    from ivifmodels import load_released

    @cache
    def load(name: str):
        return load_released(name, released_files[name])

    return load


# --- eval ------------------------------------------------------------------------------------


def _dataset_dirs(root: Path, dataset: str) -> tuple[Path, Path, Path]:
    """(results, ir, vis) folders of ``dataset`` under ``root`` (a copy or tests/data/eval)."""
    ir, vis = SOURCE_FOLDERS[dataset]
    base = root / dataset
    return base / "results", base / ir, base / vis


def _evaluate(
    root: Path,
    dataset: str,
    output: Path,
    *,
    convention: str = "cddfuse",
    metrics: list[str] | None = None,
    cache_path: Path | None = None,
    workers: int = 1,
):
    """``run_eval`` of one fixture dataset under ``root`` with the test defaults."""
    from ivifbench import __version__
    from ivifbench.computation import resolve_metrics
    from ivifbench.conventions import get_convention
    from ivifbench.eval import run_eval

    results, ir, vis = _dataset_dirs(root, dataset)
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


@pytest.fixture(scope="session")
def dataset_dirs() -> Callable[[Path, str], tuple[Path, Path, Path]]:
    """``dataset_dirs(root, dataset)``: its (results, ir, vis) folders under ``root``."""
    return _dataset_dirs


@pytest.fixture(scope="session")
def evaluate() -> Callable[..., object]:
    """``evaluate(root, dataset, output, *, convention, metrics, cache_path, workers)``:
    ``run_eval`` of one fixture dataset, returning its ``EvalSummary``."""
    return _evaluate


@pytest.fixture(scope="session")
def per_image(tmp_path_factory: pytest.TempPathFactory, eval_data: Path) -> Path:
    """Per-image table (CSV) of both real fixture datasets (msrs: 5 methods, roadscene: 2),
    cddfuse defaults; computed once per session, read-only."""
    output = tmp_path_factory.mktemp("eval") / "per_image.csv"
    for dataset in SOURCE_FOLDERS:
        _evaluate(eval_data, dataset, output)
    return output


# --- training --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny patch bank (``ivifdata build`` of manifests/sample.yaml with ``TINY_BANK``), built
    once per session; read-only."""
    from ivifdata.cli import main as ivifdata_main

    out = tmp_path_factory.mktemp("bank") / "bank"
    args = ["build", str(ROOT / "manifests" / "sample.yaml"), "-o", str(out)]
    for item in TINY_BANK:
        args += ["--set", item]
    result = CliRunner().invoke(ivifdata_main, args)
    assert result.exit_code == 0, result.output
    return out
