"""``m3fd``: M3FD (Liu et al., TarDAL, CVPR 2022), ``Ir/NNNNN.png`` + ``Vis/NNNNN.png``.

The group is the subset: ``M3FD_Fusion`` (300 pairs, 00000-00299) or ``M3FD_Detection``
(4,200 pairs, with ``Annotation/*.xml``). It is taken, in this order, from the root folder's
name, from an ``Annotation/`` folder next to ``Ir/`` (Detection only), and from the index:
a number above 299 cannot be in M3FD_Fusion. Otherwise the subset is unknown (empty group).
The IR is stored as 3 identical channels (``gray_in_3ch``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path, PurePosixPath

from ivifdata.files import is_image_name
from ivifdata.layouts.base import (
    Assignment,
    Extra,
    Layout,
    Source,
    child_dirs,
    is_thumbs_db,
    side_file,
)

BAND_FOLDERS = {"ir": "ir", "vis": "vis"}
FUSION, DETECTION = "M3FD_Fusion", "M3FD_Detection"
#: Highest index in M3FD_Fusion (it has 300 pairs numbered from 0).
FUSION_LAST_INDEX = 299


@lru_cache(maxsize=64)
def root_subset(root: Path) -> str:
    """The subset named by the root folder or implied by its ``Annotation/`` folder, or ``""``."""
    name = root.resolve().name.lower()
    if "fusion" in name:
        return FUSION
    if "detection" in name or "annotation" in child_dirs(root):
        return DETECTION
    return ""


def subset_of(root: Path, stem: str) -> str:
    """``M3FD_Fusion``, ``M3FD_Detection`` or ``""`` (unknown) for file ``stem`` under ``root``."""
    subset = root_subset(root)
    if not subset and stem.isdigit() and int(stem) > FUSION_LAST_INDEX:
        return DETECTION
    return subset


class M3FDLayout(Layout):
    name = "m3fd"
    signature = "Ir/ and Vis/ folders (M3FD spelling), or an M3FD_* root holding them"

    def matches(self, root: Path) -> bool:
        dirs = child_dirs(root)
        if not set(BAND_FOLDERS) <= set(dirs):
            return False
        exact = {dirs["ir"], dirs["vis"]} == {"Ir", "Vis"}
        return exact or root.resolve().name.lower().startswith("m3fd")

    def assign(self, rel: PurePosixPath, root: Path) -> Assignment | None:
        if is_thumbs_db(rel):
            return Extra("thumbnail")
        band = BAND_FOLDERS.get(rel.parts[0].lower()) if len(rel.parts) == 2 else None
        if band and is_image_name(rel):
            return Source(band, group=subset_of(root, rel.stem), key=rel.stem)
        return side_file(rel)
