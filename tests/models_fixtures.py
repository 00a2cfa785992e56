"""Paths and loaders shared by the tests of ``models`` (fixtures in tests/data/models/)."""

from functools import cache
from pathlib import Path

from ivifmodels import load_released

DATA = Path(__file__).parent / "data" / "models"
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
RELEASED = {"cnn": "CNN", "transformer": "Trans", "gan": "GAN"}
STEMS = ("00004N", "00055D")


@cache
def released(name: str):
    """The released model ``name`` loaded from the fixture checkpoints (eval mode, CPU)."""
    return load_released(name, DATA / "weights" / f"{RELEASED[name]}.model")
