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


# --- torch ------------------------------------------------------------------------------------


@pytest.fixture
def one_torch_thread():
    """torch on one CPU thread for the test, restored after (the torch metric backend's many
    small operations run ~10x slower with 2 threads on a busy 2-core machine)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


# --- the bundled sample built with several shards (test_build_shards, test_build_faults) -------

#: a build with several shards (8 patches each) and materialised pairs of 2 epochs.
SMALL_BUILD = [
    "shards.samples_per_shard=8",
    "shards.materialize=true",
    "shards.pairs_per_shard=300",
    "pairing.ratio=20",
]

#: Builds the bundled sample in a subprocess and SIGKILLs it at the n-th progress call.
_KILLED_BUILD = """
import os, signal, sys
from ivifdata.build import build
from ivifdata.recipe import load_recipe
calls = 0
def progress(phase, count, total):
    global calls
    calls += 1
    if calls == int(sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL)
build(load_recipe(sys.argv[1], sys.argv[4:]), sys.argv[2], progress=progress)
"""


@pytest.fixture(scope="session")
def small_build_args() -> list[str]:
    """The recipe path and ``--set`` overrides of :func:`small_build`."""
    return [str(ROOT / "manifests" / "sample.yaml"), *SMALL_BUILD]


@pytest.fixture(scope="session")
def small_build_cli(small_build_args: list[str]) -> list[str]:
    """``ivifdata build`` arguments of :func:`small_build` after ``-o OUT``: the recipe and a
    ``--set`` per override."""
    return [small_build_args[0], *(x for s in small_build_args[1:] for x in ("--set", s))]


@pytest.fixture(scope="session")
def small_build(tmp_path_factory: pytest.TempPathFactory, small_build_args: list[str]) -> Path:
    """The bundled sample built once per session with :data:`SMALL_BUILD`; read-only."""
    from ivifdata.build import build
    from ivifdata.recipe import load_recipe

    out = tmp_path_factory.mktemp("small") / "out"
    build(load_recipe(small_build_args[0], small_build_args[1:]), out)
    return out


def _build_digests(folder: Path) -> dict[str, str]:
    import hashlib

    from ivifdata.shardformat import RECORD_FILE

    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != RECORD_FILE
    }


@pytest.fixture(scope="session")
def build_digests() -> Callable[[Path], dict[str, str]]:
    """sha256 of every file of a build folder except the build record (it holds timings)."""
    return _build_digests


def _kill_small_build(out: Path, kill_at: int, args: list[str]) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", _KILLED_BUILD, args[0], str(out), str(kill_at), *args[1:]]
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr.decode()


@pytest.fixture(scope="session")
def kill_small_build(small_build_args: list[str]) -> Callable[[Path, int], None]:
    """``kill(out, n)``: build :func:`small_build` into ``out`` in a subprocess, SIGKILLed at its
    n-th progress call."""
    return lambda out, kill_at: _kill_small_build(out, kill_at, small_build_args)


# --- training --------------------------------------------------------------------------------


@pytest.fixture
def checkpoint_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The step of every ``last.pt`` that training writes from now on, in order."""
    from ivifmodels import train as train_module
    from ivifmodels.train import CHECKPOINT

    steps: list[int] = []
    save_atomic = train_module._save_atomic

    def recording(obj: dict, path: Path) -> None:
        save_atomic(obj, path)
        if path.name == CHECKPOINT:
            steps.append(obj["progress"]["step"])

    monkeypatch.setattr(train_module, "_save_atomic", recording)
    return steps
