"""``generic``: any ``ir/`` + ``vi|vis|visible/`` folders whose files match by stem.

``<prefix>/ir/<sub>/<stem>.<ext>`` pairs with ``<prefix>/vi/<sub>/<stem>.<any ext>``; an optional
``nir/`` folder adds a third band. ``prefix`` becomes the group (its first part the split when it
is train/test/val), ``sub/stem`` the pair key. Folder names are matched case-insensitively.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from ivifdata.layouts.base import (
    Assignment,
    Extra,
    Layout,
    Source,
    child_dirs,
    is_thumbs_db,
    side_file,
)

#: Band folder names (lower case) -> band.
BAND_FOLDERS = {
    "ir": "ir",
    "infrared": "ir",
    "thermal": "ir",
    "lwir": "ir",
    "vi": "vis",
    "vis": "vis",
    "visible": "vis",
    "visual": "vis",
    "nir": "nir",
}

SPLITS = frozenset({"train", "test", "val", "valid", "validation"})


def _has_ir_and_vis(folder: Path) -> bool:
    bands = {BAND_FOLDERS.get(name) for name in child_dirs(folder)}
    return {"ir", "vis"} <= bands


class GenericLayout(Layout):
    name = "generic"
    signature = (
        "an ir/ (or infrared/, thermal/) and a vi/ (vis/, visible/) folder, "
        "directly or in each train/ test/ val/ folder"
    )

    def matches(self, root: Path) -> bool:
        """Band folders in ``root``, or in each of its split folders (``train/ir``, ...)."""
        dirs = child_dirs(root)
        splits = [real for name, real in dirs.items() if name in SPLITS]
        if splits:
            return all(_has_ir_and_vis(root / split) for split in splits)
        return _has_ir_and_vis(root)

    def dataset_name(self, root: Path) -> str:
        return root.resolve().name or "generic"

    def assign(self, rel: PurePosixPath, root: Path) -> Assignment | None:
        folders = [p.lower() for p in rel.parts[:-1]]
        hits = [i for i, name in enumerate(folders) if name in BAND_FOLDERS]
        band_at = hits[-1] if hits else len(folders)  # the last band folder, if any
        group = "/".join(rel.parts[:band_at])
        split = folders[0] if band_at > 0 and folders[0] in SPLITS else ""
        if is_thumbs_db(rel):
            return Extra("thumbnail", split=split, group=group)
        ignored = side_file(rel)
        if ignored or not hits:
            return ignored
        key = "/".join([*rel.parts[band_at + 1 : -1], rel.stem])
        return Source(BAND_FOLDERS[folders[band_at]], split=split, group=group, key=key)
