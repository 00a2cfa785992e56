"""Recipe sources -> the source images of a build, through the scan catalog.

A recipe names an IR source and a VIS source (``ir:`` / ``vis:`` with root, layout, split,
dataset, match, list). When both name the same source, the build uses its aligned pairs and
every patch holds an IR and a VIS crop of the same place ("joint"); otherwise each band is drawn
from its own source independently. Problems are raised as :class:`RecipeError` naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import pandas as pd

from ivifdata.catalog import LayoutNotFoundError, ScanResult, scan
from ivifdata.layouts import LAYOUTS
from ivifdata.recipe import Recipe, RecipeError


@dataclass(frozen=True)
class SourceImage:
    """One unit the patch grid is laid on: one image per band, all of the same size.

    ``paths`` are absolute, ``rel`` relative to the source root (POSIX), ``sha256`` the catalog
    hashes, one per band in the order of ``bands``.
    """

    bands: tuple[str, ...]
    paths: tuple[Path, ...]
    rel: tuple[str, ...]
    sha256: tuple[str, ...]
    dataset: str
    width: int
    height: int


@dataclass(frozen=True)
class Skipped:
    """A catalogued pair the build cannot use, and why."""

    rel: str
    reason: str


@dataclass(frozen=True)
class SourceSet:
    """The units of one selection (``bands`` = ("ir", "vis") when joint) and what was skipped."""

    bands: tuple[str, ...]
    root: Path
    units: list[SourceImage]
    skipped: list[Skipped]


def _as_list(value: str | list[str] | None) -> list[str] | None:
    return [value] if isinstance(value, str) else value


def _scan(recipe: Recipe, band: str, workers: int) -> ScanResult:
    spec = recipe[band]
    root = recipe.source_root(band)
    if not root.is_dir():
        raise RecipeError([f"{band}.root: {root} is not a folder"], recipe.source)
    if spec["layout"] is not None and spec["layout"] not in LAYOUTS:
        raise RecipeError(
            [f"{band}.layout: unknown layout {spec['layout']!r}; known: {', '.join(LAYOUTS)}"],
            recipe.source,
        )
    try:
        return scan(root, layout=spec["layout"], workers=workers)
    except LayoutNotFoundError as exc:
        raise RecipeError([f"{band}.root: {exc}"], recipe.source) from None


def _filter(
    recipe: Recipe, band: str, pairs: pd.DataFrame, needed: tuple[str, ...]
) -> pd.DataFrame:
    """Rows of ``pairs`` selected by the ``band`` source's filters that hold every needed band."""
    spec = recipe[band]
    rows = pairs
    for col in needed:
        rows = rows[rows[col].fillna("") != ""]
    if rows.empty:
        raise RecipeError(
            [
                f"{band}.root: no {'+'.join(needed)} image found under "
                f"{recipe.source_root(band)} (layout {spec['layout'] or 'auto-detected'})"
            ],
            recipe.source,
        )
    for key in ("split", "dataset"):
        wanted = _as_list(spec[key])
        if wanted is None:
            continue
        kept = rows[rows[key].isin(wanted)]
        if kept.empty:
            found = ", ".join(v or "(none)" for v in sorted(set(rows[key].astype(str))))
            raise RecipeError(
                [f"{band}.{key}: no {band} image has {key} in {wanted} (found: {found})"],
                recipe.source,
            )
        rows = kept
    path_col = band
    if spec["match"] is not None:
        rows = rows[[fnmatchcase(p, spec["match"]) for p in rows[path_col]]]
        if rows.empty:
            raise RecipeError(
                [f"{band}.match: no {band} path matches {spec['match']!r}"], recipe.source
            )
    if spec["list"] is not None:
        list_path = recipe.resolve_path(spec["list"])
        try:
            listed = {
                line.strip()
                for line in list_path.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            }
        except OSError as exc:
            raise RecipeError(
                [f"{band}.list: cannot read {list_path} ({exc.strerror})"], recipe.source
            ) from None
        rows = rows[rows[path_col].isin(listed)]
        if rows.empty:
            raise RecipeError(
                [f"{band}.list: none of the paths in {list_path} is a {band} image here"],
                recipe.source,
            )
    return rows.sort_values(path_col, kind="stable")


def _units(
    result: ScanResult, rows: pd.DataFrame, bands: tuple[str, ...]
) -> tuple[list[SourceImage], list[Skipped]]:
    info = result.images.set_index("path")
    units: list[SourceImage] = []
    skipped: list[Skipped] = []
    for row in rows.itertuples(index=False):
        rels = tuple(getattr(row, b) for b in bands)
        sizes = [_size(info, r) for r in rels]
        if len(set(sizes)) > 1:
            text = " vs ".join(f"{w}x{h}" for w, h in sizes)
            skipped.append(Skipped(rels[0], f"bands differ in size ({text}); not aligned"))
            continue
        width, height = sizes[0]
        units.append(
            SourceImage(
                bands=bands,
                paths=tuple(result.root / r for r in rels),
                rel=rels,
                sha256=tuple(str(info.at[r, "sha256"]) for r in rels),
                dataset=str(row.dataset),
                width=width,
                height=height,
            )
        )
    return units, skipped


def _size(info: pd.DataFrame, rel: str) -> tuple[int, int]:
    """(width, height) of catalogued image ``rel``."""
    return int(info.at[rel, "width"]), int(info.at[rel, "height"])


def is_joint(recipe: Recipe) -> bool:
    """True when IR and VIS come from the same source (aligned pairs, one patch grid)."""
    return recipe["ir"] == recipe["vis"]


def resolve_sources(recipe: Recipe, workers: int = 1) -> list[SourceSet]:
    """The selections of a build: one joint ``("ir", "vis")`` set, or an IR and a VIS set."""
    if is_joint(recipe):
        result = _scan(recipe, "ir", workers)
        rows = _filter(recipe, "ir", result.pairs, ("ir", "vis"))
        units, skipped = _units(result, rows, ("ir", "vis"))
        if not units:
            raise RecipeError(
                ["ir.root: no aligned IR/VIS pair of equal size among the selected images"],
                recipe.source,
            )
        return [SourceSet(("ir", "vis"), result.root, units, skipped)]
    sets = []
    for band in ("ir", "vis"):
        result = _scan(recipe, band, workers)
        rows = _filter(recipe, band, result.pairs, (band,))
        units, skipped = _units(result, rows, (band,))
        sets.append(SourceSet((band,), result.root, units, skipped))
    return sets
