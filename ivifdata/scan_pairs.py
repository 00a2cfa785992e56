"""Group catalogued files into pairs: same ``(dataset, split, group, key)`` = one pair."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from ivifdata.layouts.base import BANDS

PAIR_COLUMNS = [
    "pair_id",
    "dataset",
    "split",
    "group",
    "key",
    "illumination",
    "ir",
    "vis",
    "nir",
    "ir_size",
    "vis_size",
    "nir_size",
    "extra",
    "note",
]


def size_text(width: object, height: object) -> str:
    """``"WxH"`` in pixels, or ``""`` when unknown."""
    if width is None or height is None or pd.isna(width) or pd.isna(height):
        return ""
    return f"{int(width)}x{int(height)}"


def pair_id(dataset: str, split: str, group: str, key: str) -> str:
    """Stable, readable pair identifier, e.g. ``msrs:test/00004N``, ``tno:Triclobs_images/Bosnia``.

    The split is left out when the group already starts with it.
    """
    parts = [p for p in (group, key) if p]
    if split and not (group == split or group.startswith(split + "/")):
        parts.insert(0, split)
    return f"{dataset}:{'/'.join(parts)}"


def _size_note(sizes: dict[str, str]) -> str:
    present = {band: s for band, s in sizes.items() if s}
    if len(set(present.values())) <= 1:
        return ""
    return "size mismatch: " + ", ".join(f"{band} {s}" for band, s in present.items())


def _problem(row: object, kind: str, message: str) -> dict[str, str]:
    """A ``problems`` row (catalog.PROBLEM_COLUMNS) about the catalogued source ``row``."""
    fields = ("path", "dataset", "split", "group", "key", "modality")
    return {**{f: getattr(row, f) for f in fields}, "kind": kind, "message": message}


def build_pairs(images: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Pairs from the decoded catalog rows, plus ``problems`` rows (dicts).

    ``images`` holds only usable files (decoded sources, extras). A pair needs at least two
    different bands; a band with two files for one key is ambiguous and is left out (both files
    are reported); a lone band is reported as ``unpaired`` (it stays in the catalog). A pair
    whose IR and VIS differ in size stays in the table (``note``) and both files are reported
    as ``size mismatch``: a build cannot use them as an aligned pair.
    """
    sources: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    extras: dict[tuple, list[str]] = defaultdict(list)
    for row in images.itertuples(index=False):
        key = (row.dataset, row.split, row.group, row.key)
        if row.modality == "extra":
            extras[key].append(row.path)
        else:
            sources[key][row.modality].append(row)

    rows, problems = [], []
    for key in sorted(sources):
        dataset, split, group, pkey = key
        bands = sources[key]
        chosen = {}
        for band, found in bands.items():
            if len(found) > 1:
                names = ", ".join(r.path for r in found)
                for r in found:
                    message = f"{len(found)} {band} files for one pair: {names}"
                    problems.append(_problem(r, "ambiguous", message))
            else:
                chosen[band] = found[0]
        if len(chosen) < 2:
            for r in chosen.values():
                message = f"no other band found for this {r.modality} image"
                problems.append(_problem(r, "unpaired", message))
            continue
        sizes = {
            b: size_text(chosen[b].width, chosen[b].height) if b in chosen else "" for b in BANDS
        }
        if sizes["ir"] and sizes["vis"] and sizes["ir"] != sizes["vis"]:
            message = (
                f"ir {sizes['ir']} vs vis {sizes['vis']}: not aligned, a build skips this pair"
            )
            problems.extend(_problem(chosen[b], "size mismatch", message) for b in ("ir", "vis"))
        illum = {r.illumination for r in chosen.values()} - {""}
        rows.append(
            {
                "pair_id": pair_id(dataset, split, group, pkey),
                "dataset": dataset,
                "split": split,
                "group": group,
                "key": pkey,
                "illumination": ",".join(sorted(illum)),
                **{b: chosen[b].path if b in chosen else "" for b in BANDS},
                **{f"{b}_size": sizes[b] for b in BANDS},
                "extra": ";".join(sorted(extras.get(key, []), key=str.lower)),
                "note": _size_note(sizes),
            }
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS), problems
