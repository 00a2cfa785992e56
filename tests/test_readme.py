"""README as a new user runs it (issue 13 items 7 and 12): the set-up block runs as written as
root and as a user (no bare sudo, apt-get update, -y), its output folders are git-ignored, and
the report example names the methods the fuse examples write."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()

#: Stand-ins for the commands of the set-up block: each records its arguments in $LOG.
STUBS = {
    "id": 'echo "$FAKE_UID"',
    "sudo": 'echo "sudo $*" >> "$LOG"; "$@"',
    "apt-get": 'echo "apt-get $*" >> "$LOG"',
    "pip": 'echo "pip $*" >> "$LOG"',
    "python3": 'echo "python3 $*" >> "$LOG"; mkdir -p .venv/bin; : > .venv/bin/activate',
}


def _block(title: str) -> str:
    """The first bash block after the heading ``title``."""
    section = README.split(f"## {title}", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize(("uid", "prefix"), [("0", ""), ("1000", "sudo ")])
def test_setup_runs_as_written_as_root_and_as_a_user(tmp_path, uid, prefix):
    block = _block("Set-up")
    assert not re.search(r"^\s*sudo\s", block, re.M), "a bare sudo fails where there is none"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STUBS.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "log"
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_UID": uid, "LOG": str(log)}
    run = subprocess.run(
        ["bash", "-e", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    calls = [c for c in log.read_text().splitlines() if not c.startswith("sudo ")]
    sudo = [c for c in log.read_text().splitlines() if c.startswith("sudo ")]
    apt = [c for c in calls if c.startswith("apt-get")]
    assert apt[0] == "apt-get update" and len(apt) >= 2
    assert all(" -y " in c for c in apt[1:]), apt  # non-interactive installs
    assert any("texlive-latex-base" in c for c in apt)
    assert sudo == ([f"sudo {c}" for c in apt] if prefix else [])
    assert calls[-2:] == ["pip install torch==2.13.0", "pip install -e .[dev]"]


def test_latex_test_skips_with_a_reason_without_pdflatex():
    """Without pdflatex (and outside CI) the compile test of tests/test_report.py is skipped,
    naming the package to install; .ci/run still installs it."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(Path(sys.executable).parent)  # the venv: python, no pdflatex
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
        + [str(REPO / "tests" / "test_report.py"), "-k", "latex_compiles"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert "1 skipped" in run.stdout
    assert "pdflatex not installed (apt-get install texlive-latex-base)" in run.stdout
    ci = (REPO / ".ci" / "run").read_text()
    assert "apt-get update" in ci and "install -y" in ci and "texlive-latex-base" in ci


def _outputs() -> list[str]:
    """Every relative output path the README's examples write (``-o X``, ``--contact-sheet X``)."""
    found = re.findall(r"(?:\s-o|--contact-sheet)\s+(\S+)", README)
    return sorted({p for p in found if not p.startswith(("/", "OUT"))})


@pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout"
)
def test_readme_output_folders_are_git_ignored():
    outputs = _outputs()
    assert {"shards/sample", "runs/cnn", "results/MSRS/CNN", "tables/"} <= set(outputs)
    probes = [p.rstrip("/") + "/file" if not Path(p).suffix else p for p in outputs]
    run = subprocess.run(
        ["git", "check-ignore", "--no-index", *probes], cwd=REPO, capture_output=True, text=True
    )
    assert sorted(run.stdout.split()) == sorted(probes)


def test_report_example_names_the_fused_methods():
    fused = re.findall(r"ivifmodels fuse --model \w+ .*-o results/MSRS/(\w+)", README)
    assert fused == ["CNN", "Transformer", "GAN"]
    methods = re.search(r"ivifbench report .*--methods (\S+)", README).group(1).split(",")
    assert methods == fused
