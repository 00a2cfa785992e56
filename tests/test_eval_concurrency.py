"""``ivifbench eval`` runs sharing one ``-o`` table: no lost rows, problems kept per dataset;
a cache file that is not an ivifbench cache is refused and left as it was."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import ivifbench.eval as eval_module
from ivifbench.cli import main
from ivifbench.eval import read_table

ROOT = Path(__file__).resolve().parents[1]


def datasets_of(table: Path) -> dict[str, int]:
    return read_table(table)["dataset"].value_counts().sort_index().to_dict()


def test_rows_written_by_another_run_meanwhile_are_kept(eval_data, evaluate, tmp_path, monkeypatch):
    """Run Y reads the table, then run X appends to it while Y computes: Y keeps X's rows."""
    out = tmp_path / "per_image.csv"
    run_jobs = eval_module.run_jobs
    interleaved = []

    def other_run_finishes_meanwhile(*args, **kwargs):
        if not interleaved:
            interleaved.append(True)
            evaluate(eval_data, "msrs", out, metrics=["EN"])
        return run_jobs(*args, **kwargs)

    monkeypatch.setattr(eval_module, "run_jobs", other_run_finishes_meanwhile)
    summary = evaluate(eval_data, "roadscene", out, metrics=["EN"])
    assert interleaved and datasets_of(out) == {"msrs": 10, "roadscene": 4}
    assert summary.kept_rows == 10 and summary.rows == 14


def test_problems_of_an_earlier_dataset_are_kept(dataset_dirs, eval_copy, evaluate, tmp_path):
    root = eval_copy
    results, _, _ = dataset_dirs(root, "msrs")
    (results / "GAN" / "00004N.png").unlink()
    out = tmp_path / "per_image.csv"
    evaluate(root, "msrs", out, metrics=["EN"])
    evaluate(root, "roadscene", out, metrics=["EN"])
    problems = pd.read_csv(tmp_path / "per_image.problems.csv", dtype=str, keep_default_na=False)
    assert problems[["dataset", "method", "image", "kind"]].values.tolist() == [
        ["msrs", "GAN", "00004N", "missing_fused"]
    ]
    # the same dataset evaluated again replaces its own rows (the problem is fixed)
    shutil.copy(results / "CNN" / "00004N.png", results / "GAN" / "00004N.png")
    evaluate(root, "msrs", out, metrics=["EN"])
    problems = pd.read_csv(tmp_path / "per_image.problems.csv", dtype=str, keep_default_na=False)
    assert problems.empty


@pytest.mark.slow
def test_two_processes_appending_to_one_table(dataset_dirs, eval_copy, tmp_path):
    """Two eval processes started together on one table: both datasets' rows survive."""
    root = eval_copy
    for dataset in ("msrs", "roadscene"):  # 6 copies of each method: a few seconds of work
        results = dataset_dirs(root, dataset)[0]
        for method in list(results.iterdir()):
            for copy in range(5):
                shutil.copytree(method, results / f"{method.name}{copy}")
    out = tmp_path / "per_image.csv"
    processes = []
    for dataset in ("msrs", "roadscene"):
        results, ir, vis = dataset_dirs(root, dataset)
        command = [sys.executable, "-m", "ivifbench.cli", "eval", str(results), "--ir", str(ir)]
        command += ["--vis", str(vis), "--dataset", dataset, "-o", str(out), "--no-cache"]
        command += ["--workers", "1", "--metrics", "EN,SD,SF,MI,VIF,Qabf,SSIM"]
        processes.append(subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE))
    for process in processes:
        assert process.wait(timeout=600) == 0, process.stderr.read().decode()[-2000:]
    assert datasets_of(out) == {"msrs": 60, "roadscene": 24}


@pytest.fixture
def run_eval_cli(eval_data, dataset_dirs):
    """``run_eval_cli(tmp_path, cache)``: ``ivifbench eval`` of msrs, EN only, with ``cache``."""

    def run(tmp_path: Path, cache: Path):
        results, ir, vis = dataset_dirs(eval_data, "msrs")
        args = ["eval", str(results), "--ir", str(ir), "--vis", str(vis), "--metrics", "EN"]
        args += ["-o", str(tmp_path / "t.csv"), "--cache", str(cache), "--workers", "1"]
        return CliRunner().invoke(main, args)

    return run


def test_junk_cache_is_refused_and_left_alone(run_eval_cli, tmp_path):
    cache = tmp_path / "values.sqlite"
    cache.write_bytes(b"this is not a database" * 100)
    result = run_eval_cli(tmp_path, cache)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"error: {cache}: not an ivifbench value cache (file is not a database)" in result.output
    assert cache.read_bytes() == b"this is not a database" * 100
    assert not (tmp_path / "t.csv").exists()


def test_foreign_sqlite_database_is_refused_and_left_alone(run_eval_cli, tmp_path):
    cache = tmp_path / "mine.sqlite"
    with sqlite3.connect(cache) as db:
        db.execute("CREATE TABLE users (name TEXT)")
    before = cache.read_bytes()
    result = run_eval_cli(tmp_path, cache)
    assert result.exit_code == 2 and "an SQLite database with tables users" in result.output
    assert cache.read_bytes() == before
    assert run_eval_cli(tmp_path, tmp_path / "empty.sqlite").exit_code == 0  # a new cache
