"""``ivifdata`` commands load only what they need: no torch or pandas for verify/inspect, no
torch for scan, nothing heavy for ``--help`` (each run in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ivifdata.build import build
from ivifdata.recipe import load_recipe

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "pandas", "cv2")
PROBE = """
import json, sys
from ivifdata.cli import main
try:
    main(sys.argv[1:], prog_name="ivifdata")
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(json.dumps(sorted(m for m in HEAVY if m in sys.modules)))
""".replace("HEAVY", repr(HEAVY))


def _loaded(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("imports") / "out"
    build(load_recipe(REPO / "manifests" / "sample.yaml"), out)
    return out


@pytest.mark.parametrize("command", [[], ["build"], ["verify"], ["inspect"], ["scan"]])
def test_help_imports_nothing_heavy(command):
    assert _loaded(*command, "--help") == []


def test_verify_and_inspect_load_neither_torch_nor_pandas(built, tmp_path):
    assert _loaded("verify", str(built)) == ["cv2"]  # cv2 decodes the PNGs
    sheet = str(tmp_path / "sheet.png")
    assert "torch" not in _loaded("inspect", str(built), "--contact-sheet", sheet)
    assert "pandas" not in _loaded("inspect", str(built))


def test_scan_does_not_load_torch(tmp_path):
    loaded = _loaded("scan", str(REPO / "ivifdata" / "sample"), "-o", str(tmp_path / "cat"))
    assert "torch" not in loaded and "pandas" in loaded  # the catalog is a pandas table
