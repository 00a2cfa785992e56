"""``llvip``: LLVIP (Jia et al., ICCV-W 2021), ``{infrared,visible}/{train,test}/NNNNNN.jpg``.

split = group = ``train`` / ``test``; key = the 6-digit stem. The IR JPEGs are stored as
three identical channels (reported as ``gray_in_3ch``). ``Annotations/*.xml`` are ignored.
"""

from __future__ import annotations

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

BAND_FOLDERS = {"infrared": "ir", "visible": "vis"}
SPLITS = frozenset({"train", "test"})


class LLVIPLayout(Layout):
    name = "llvip"
    signature = "infrared/ and visible/ folders, each holding train/ and/or test/"

    def matches(self, root: Path) -> bool:
        dirs = child_dirs(root)
        if not set(BAND_FOLDERS) <= set(dirs):
            return False
        return all(SPLITS & set(child_dirs(root / dirs[band])) for band in BAND_FOLDERS)

    def assign(self, rel: PurePosixPath, root: Path) -> Assignment | None:
        parts = [p.lower() for p in rel.parts]
        split = parts[1] if len(parts) >= 3 and parts[1] in SPLITS else ""
        if is_thumbs_db(rel):
            return Extra("thumbnail", split=split, group=split)
        if len(parts) == 3 and parts[0] in BAND_FOLDERS and split and is_image_name(rel):
            return Source(BAND_FOLDERS[parts[0]], split=split, group=split, key=rel.stem)
        return side_file(rel)
