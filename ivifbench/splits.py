"""Standard test splits: lists of image stems shipped in ``ivifbench/splits/<name>.txt``.

A split file holds one image stem (file name without extension) per line; blank lines and lines
starting with ``#`` are ignored. Provenance of every shipped list: ``ivifbench/splits/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Folder of the shipped split lists (package data).
SPLITS_DIR = Path(__file__).resolve().parent / "splits"


class SplitError(ValueError):
    """A split name or file cannot be used (message names it)."""


@dataclass(frozen=True)
class Split:
    """A named list of image stems, in file order."""

    name: str
    stems: tuple[str, ...]


def available_splits() -> list[str]:
    """Names of the shipped splits, sorted."""
    return sorted(p.stem for p in SPLITS_DIR.glob("*.txt"))


def parse_split(text: str, name: str) -> Split:
    """Stems of a split file's ``text``; raises SplitError when it has none or repeats one."""
    stems = [line.strip() for line in text.splitlines()]
    stems = [s for s in stems if s and not s.startswith("#")]
    if not stems:
        raise SplitError(f"split {name!r} lists no image")
    repeated = sorted({s for s in stems if stems.count(s) > 1})
    if repeated:
        raise SplitError(f"split {name!r} lists {', '.join(repeated)} more than once")
    return Split(name, tuple(stems))


def load_split(name_or_path: str) -> Split:
    """A shipped split by name (e.g. ``tno-42``), or a split file by path (named by its stem).

    Raises SplitError naming the argument when it is neither.
    """
    shipped = SPLITS_DIR / f"{name_or_path}.txt"
    if "/" not in name_or_path and shipped.is_file():
        return parse_split(shipped.read_text(encoding="utf-8"), name_or_path)
    path = Path(name_or_path)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SplitError(f"{path}: cannot read split file ({exc})") from None
        return parse_split(text, path.stem)
    raise SplitError(
        f"{name_or_path!r} is neither a shipped split ({', '.join(available_splits())}) "
        "nor a split file"
    )
