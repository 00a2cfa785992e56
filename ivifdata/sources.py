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


def _listed(recipe: Recipe, band: str) -> set[str] | None:
    """The paths of the ``band.list`` file, or None when the key is not set."""
    spec = recipe[band]
    if spec["list"] is None:
        return None
    list_path = recipe.resolve_path(spec["list"])
    try:
        return {
            line.strip()
            for line in list_path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        }
    except OSError as exc:
        raise RecipeError(
            [f"{band}.list: cannot read {list_path} ({exc.strerror})"], recipe.source
        ) from None


def _folded(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.casefold()


def _filter(
    recipe: Recipe, band: str, rows: pd.DataFrame, path_col: str, what: str
) -> pd.DataFrame:
    """The ``rows`` (with ``dataset``, ``split`` and a ``path_col`` of band paths) that the
    ``band`` source's filters select: split and dataset compared case-insensitively, ``match`` a
    glob on the path, ``list`` a file of paths. Raises RecipeError naming the first filter that
    leaves nothing (``what`` names the images in the message: ``ir``, ``vis``, ``ir+vis``)."""
    spec = recipe[band]
    if rows.empty:
        raise RecipeError(
            [
                f"{band}.root: no {what} image found under "
                f"{recipe.source_root(band)} (layout {spec['layout'] or 'auto-detected'})"
            ],
            recipe.source,
        )
    for key in ("split", "dataset"):
        wanted = _as_list(spec[key])
        if wanted is None:
            continue
        kept = rows[_folded(rows[key]).isin({w.casefold() for w in wanted})]
        if kept.empty:
            found = sorted(set(rows[key].astype(str)))
            problem = f"{band}.{key}: no {band} image has {key} in {wanted} (found: "
            problem += ", ".join(v or "(none)" for v in found) + ")"
            if is_joint(recipe) and any(found):
                choice = next(v for v in found if v)
                problem += (
                    f"; to use another, set both sources (aligned pairs need one source): "
                    f"--set ir.{key}={choice} --set vis.{key}={choice}"
                )
            raise RecipeError([problem], recipe.source)
        rows = kept
    if spec["match"] is not None:
        rows = rows[[fnmatchcase(p, spec["match"]) for p in rows[path_col]]]
        if rows.empty:
            raise RecipeError(
                [f"{band}.match: no {band} path matches {spec['match']!r}"], recipe.source
            )
    listed = _listed(recipe, band)
    if listed is not None:
        rows = rows[rows[path_col].isin(listed)]
        if rows.empty:
            raise RecipeError(
                [
                    f"{band}.list: none of the paths in {recipe.resolve_path(spec['list'])} "
                    f"is a {band} image here"
                ],
                recipe.source,
            )
    return rows.sort_values(path_col, kind="stable")


def _units(
    result: ScanResult, rows: pd.DataFrame, bands: tuple[str, ...], patch: int
) -> tuple[list[SourceImage], list[Skipped]]:
    """The usable images of the selected ``rows``, and those skipped: bands of different sizes
    (not aligned), or smaller than the ``patch`` side (pixels)."""
    info = result.images.set_index("path")
    units: list[SourceImage] = []
    skipped: list[Skipped] = []
    for row in rows.itertuples(index=False):
        rels = tuple(getattr(row, b) for b in bands)
        sizes = [_size(info, r) for r in rels]
        texts = [f"{w}x{h}" for w, h in sizes]
        if len(set(sizes)) > 1:
            where = " vs ".join(f"{b} {t}" for b, t in zip(bands, texts, strict=True))
            skipped.extend(Skipped(r, f"size mismatch: {where} (not aligned)") for r in rels)
            continue
        width, height = sizes[0]
        if min(width, height) < patch:
            reason = f"too small: {texts[0]} is smaller than patch.size {patch}"
            skipped.extend(Skipped(r, reason) for r in rels)
            continue
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


def _unused(
    recipe: Recipe, band: str, result: ScanResult, bands: tuple[str, ...], taken: set[str]
) -> list[Skipped]:
    """Source files of ``bands`` that the ``band`` source's filters select but that are not in
    ``taken`` (used or already skipped), each with why: unreadable (the scan's problem), ambiguous,
    or, for aligned pairs, no image of the other band. A VIS file of a pair is selected when the
    pair's IR file is (``match`` and ``list`` name IR paths there)."""
    catalogued = result.images[result.images["modality"].isin(bands)]
    failed = result.problems[
        result.problems["modality"].isin(bands) & ~result.problems["path"].isin(catalogued["path"])
    ]
    columns = ["path", "dataset", "split", "group", "key", "modality"]
    files = pd.concat([catalogued[columns], failed[columns]], ignore_index=True)
    files = files[~files["path"].isin(taken)]
    if files.empty:
        return []
    pair = ["dataset", "split", "group", "key"]
    if len(bands) > 1:  # aligned pairs: filter on the pair's IR path where there is one
        ir_paths = catalogued[catalogued["modality"] == "ir"].drop_duplicates(pair)
        ir_of = files.merge(ir_paths[[*pair, "path"]], on=pair, how="left", suffixes=("", "_ir"))
        files = files.assign(selector=ir_of["path_ir"].fillna(ir_of["path"]).to_numpy())
    else:
        files = files.assign(selector=files["path"])
    try:
        selected = _filter(recipe, band, files, "selector", band)
    except RecipeError:  # the filters leave none of these files: nothing of them was dropped
        return []
    unreadable = {
        (*(getattr(row, k) for k in pair), row.modality): f"{row.path}: {row.kind}"
        for row in failed.itertuples(index=False)
    }
    why = {
        row.path: f"{row.kind}: {row.message}"
        for row in result.problems.itertuples(index=False)
        if row.modality in bands and row.kind != "unpaired"
    }
    skipped = []
    for row in selected.sort_values("path").itertuples(index=False):
        other = "vis" if row.modality == "ir" else "ir"
        partner = unreadable.get((*(getattr(row, k) for k in pair), other))
        reason = why.get(row.path) or (
            f"no usable {other} image ({partner})"
            if partner
            else f"no {other} image for this pair (aligned pairs needed)"
        )
        skipped.append(Skipped(row.path, reason))
    return skipped


def is_joint(recipe: Recipe) -> bool:
    """True when IR and VIS come from the same source (aligned pairs, one patch grid)."""
    return recipe["ir"] == recipe["vis"]


def _resolve(
    recipe: Recipe, band: str, result: ScanResult, rows: pd.DataFrame, bands: tuple[str, ...]
) -> SourceSet:
    """One source set: the units of the selected ``rows`` and every selected file left out."""
    size = recipe.get("patch.size")
    units, skipped = _units(result, rows, bands, size)
    taken = {r for u in units for r in u.rel} | {k.rel for k in skipped}
    skipped += _unused(recipe, band, result, bands, taken)
    if not units:
        label = "+".join(bands)
        if any(k.reason.startswith("too small") for k in skipped):
            largest = max(
                (_size(result.images.set_index("path"), r) for r in rows[bands[0]]),
                key=lambda s: s[0] * s[1],
            )
            problem = (
                f"patch.size: {size} is larger than every selected {label} image "
                f"(largest {largest[0]}x{largest[1]})"
            )
        else:
            problem = f"{band}.root: no aligned IR/VIS pair of equal size among the selected images"
        raise RecipeError([problem], recipe.source)
    return SourceSet(bands, result.root, units, sorted(skipped, key=lambda k: k.rel))


def resolve_sources(recipe: Recipe, workers: int = 1) -> list[SourceSet]:
    """The selections of a build: one joint ``("ir", "vis")`` set, or an IR and a VIS set."""
    if is_joint(recipe):
        result = _scan(recipe, "ir", workers)
        pairs = result.pairs[(result.pairs["ir"] != "") & (result.pairs["vis"] != "")]
        rows = _filter(recipe, "ir", pairs, "ir", "ir+vis")
        return [_resolve(recipe, "ir", result, rows, ("ir", "vis"))]
    sets = []
    for band in ("ir", "vis"):
        result = _scan(recipe, band, workers)
        images = result.images[result.images["modality"] == band].rename(columns={"path": band})
        rows = _filter(recipe, band, images, band, band)
        sets.append(_resolve(recipe, band, result, rows, (band,)))
    return sets
