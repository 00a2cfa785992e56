"""A tiny patch bank built from the bundled sample, shared by the training tests."""

from pathlib import Path

from click.testing import CliRunner

from ivifdata.cli import main as ivifdata_main

ROOT = Path(__file__).resolve().parents[1]
#: 16 patches of 32x32, 16 pairs per epoch: 4 steps per epoch at batch 4.
TINY = ["patch.size=32", "patch.stride=32", "subset.n=16", "pairing.ratio=1"]


def build_tiny_bank(out: Path) -> Path:
    """Build the tiny bank into ``out`` (``ivifdata build`` of manifests/sample.yaml)."""
    args = ["build", str(ROOT / "manifests" / "sample.yaml"), "-o", str(out)]
    for item in TINY:
        args += ["--set", item]
    result = CliRunner().invoke(ivifdata_main, args)
    assert result.exit_code == 0, result.output
    return out
