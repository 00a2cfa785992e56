"""Matching IR and VIS inputs (two files, or two folders matched by file stem)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ivifdata.fswalk import bad_link

#: File extensions (lower case) taken as images when a folder is given.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


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


def _images_by_stem(
    folder: Path,
) -> tuple[dict[str, Path], dict[str, list[Path]], list[PairProblem]]:
    """Images of ``folder`` by stem: (unique stems, ambiguous stems with all their files,
    image names that are broken or looping symlinks)."""
    found: dict[str, list[Path]] = {}
    links: list[PairProblem] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if path.is_file():
            found.setdefault(path.stem, []).append(path)
        elif path.is_symlink():
            links.append(PairProblem(path, bad_link(path).message))
    unique = {stem: paths[0] for stem, paths in found.items() if len(paths) == 1}
    return unique, {stem: paths for stem, paths in found.items() if len(paths) > 1}, links


def find_pairs(ir: Path, vis: Path) -> tuple[list[Pair], list[PairProblem]]:
    """Pairs from two files or two folders (matched by stem); raises ValueError on a mix."""
    if ir.is_file() and vis.is_file():
        return [Pair(ir.stem, ir, vis)], []
    if not (ir.is_dir() and vis.is_dir()):
        raise ValueError(f"--ir {ir} and --vis {vis} must be two existing files or two folders")
    irs, ir_dups, ir_links = _images_by_stem(ir)
    viss, vis_dups, vis_links = _images_by_stem(vis)
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
