"""Registry of raw dataset layouts and auto-detection of dataset roots under a folder."""

from __future__ import annotations

import os
from pathlib import Path

from ivifdata.layouts.base import Layout, child_dirs
from ivifdata.layouts.generic import GenericLayout
from ivifdata.layouts.llvip import LLVIPLayout
from ivifdata.layouts.m3fd import M3FDLayout
from ivifdata.layouts.msrs import MSRSLayout
from ivifdata.layouts.roadscene import RoadSceneLayout
from ivifdata.layouts.tno import TNOLayout

#: name -> layout, in detection order: specific layouts first, ``generic`` last.
LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        TNOLayout(),
        RoadSceneLayout(),
        MSRSLayout(),
        M3FDLayout(),
        LLVIPLayout(),
        GenericLayout(),
    )
}

#: How deep below ROOT dataset roots are looked for.
MAX_DETECT_DEPTH = 3


def detect_one(folder: Path) -> str | None:
    """Name of the first layout (in registry order) whose signature ``folder`` has, else None."""
    for name, layout in LAYOUTS.items():
        if layout.matches(folder):
            return name
    return None


def detect(root: str | Path, max_depth: int = MAX_DETECT_DEPTH) -> list[tuple[str, Path]]:
    """Dataset roots at or below ``root``: a list of ``(layout name, dataset root)``.

    ``root`` itself is tried first; if no layout matches, its sub-folders are tried (down to
    ``max_depth`` levels, hidden folders skipped). A folder that matches is not searched further.
    Symlinked folders are followed once (a loop is never entered twice).
    """
    found: list[tuple[str, Path]] = []
    seen: set[str] = set()

    def visit(folder: Path, depth: int) -> None:
        real = os.path.realpath(folder)
        if real in seen:
            return
        seen.add(real)
        name = detect_one(folder)
        if name:
            found.append((name, folder))
            return
        if depth >= max_depth:
            return
        for name in sorted(child_dirs(folder).values()):
            if not name.startswith("."):
                visit(folder / name, depth + 1)

    visit(Path(root), 0)
    return found


__all__ = ["LAYOUTS", "Layout", "detect", "detect_one"]
