"""Matching IR and VIS inputs (two files, or two folders matched by file stem)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ivifdata.files import FolderImages, images_by_stem, is_image_name


@dataclass(frozen=True)
class Pair:
    """One IR / VIS pair; ``stem`` names the output files."""

    stem: str
    ir: Path
    vis: Path


@dataclass(frozen=True)
class PairProblem:
    """An input that cannot form a pair, with the reason."""

    path: Path
    reason: str


def _images_by_stem(folder: Path) -> tuple[FolderImages, list[PairProblem]]:
    """The images of ``folder`` (``ivifdata.files`` rules) and the image names that cannot be
    read (broken or looping symlinks); other non-image entries are not fusion inputs."""
    found = images_by_stem(folder)
    unusable = [
        PairProblem(path, reason) for path, reason in found.other.items() if is_image_name(path)
    ]
    return found, unusable


def find_pairs(ir: Path, vis: Path) -> tuple[list[Pair], list[PairProblem]]:
    """Pairs from two files or two folders (matched by stem); raises ValueError on a mix."""
    if ir.is_file() and vis.is_file():
        return [Pair(ir.stem, ir, vis)], []
    if not (ir.is_dir() and vis.is_dir()):
        raise ValueError(f"--ir {ir} and --vis {vis} must be two existing files or two folders")
    ir_found, ir_links = _images_by_stem(ir)
    vis_found, vis_links = _images_by_stem(vis)
    irs, ir_dups = ir_found.by_stem, ir_found.ambiguous
    viss, vis_dups = vis_found.by_stem, vis_found.ambiguous
    problems = [*ir_links, *vis_links]
    problems += [
        PairProblem(paths[0], f"ambiguous: {len(paths)} images named {stem!r} in {paths[0].parent}")
        for dups in (ir_dups, vis_dups)
        for stem, paths in dups.items()
    ]
    skip = ir_dups.keys() | vis_dups.keys()
    for stem in sorted(irs.keys() - viss.keys() - skip):
        problems.append(PairProblem(irs[stem], "no VIS image with this name"))
    for stem in sorted(viss.keys() - irs.keys() - skip):
        problems.append(PairProblem(viss[stem], "no IR image with this name"))
    pairs = [Pair(stem, irs[stem], viss[stem]) for stem in sorted(irs.keys() & viss.keys())]
    return pairs, problems
