"""``roadscene``: RoadScene (Xu et al., FusionDN / U2Fusion), four folders sharing base names.

* ``cropinfrared/<name>.jpg`` (ir) + ``crop_LR_visible/<name>.jpg`` (vis): the registered pair,
  same size per name;
* ``crop_HR_visible/<name>.jpg``: high-resolution visible, 2x or ~3x larger and not
  pixel-aligned -> extra, reason ``unaligned``;
* ``infrared/<name>.png``: raw 640x512 FLIR frames, not aligned with the crops -> extra,
  ``unaligned``;
* ``Thumbs.db`` (in both visible folders) -> extra, ``thumbnail``.

No split; the pair key is the base name (``FLIR_00006``, ``FLIR_video_00069``).
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

#: folder (lower case) -> band for the registered pair.
PAIR_FOLDERS = {"cropinfrared": "ir", "crop_lr_visible": "vis"}
#: folders whose images belong to a pair but are not aligned with it.
UNALIGNED_FOLDERS = frozenset({"crop_hr_visible", "infrared"})


class RoadSceneLayout(Layout):
    name = "roadscene"
    signature = "cropinfrared/ and crop_LR_visible/ folders"

    def matches(self, root: Path) -> bool:
        return set(PAIR_FOLDERS) <= set(child_dirs(root))

    def assign(self, rel: PurePosixPath, root: Path) -> Assignment | None:
        if is_thumbs_db(rel):
            return Extra("thumbnail", group="")
        if len(rel.parts) != 2 or not is_image_name(rel):
            return side_file(rel)
        folder = rel.parts[0].lower()
        if folder in PAIR_FOLDERS:
            return Source(PAIR_FOLDERS[folder], key=rel.stem)
        if folder in UNALIGNED_FOLDERS:
            return Extra("unaligned", key=rel.stem)
        return None
