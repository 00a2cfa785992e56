"""``msrs``: MSRS (Tang et al., PIAFusion 2022), ``{train,test}/{ir,vi}/NNNNN[D|N].png``.

* split = ``train`` / ``test`` (group = split), key = file stem;
* the ``D`` / ``N`` suffix is kept as ``illumination`` = day / night;
* ``detection/{ir,vi}/<n>.png`` (80-image detection subset, no D/N) is split ``detection``;
  ``detection/labels/*.txt`` and ``Segmentation_labels``-style folders are annotations.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from ivifdata.files import is_image_name
from ivifdata.layouts.base import (
    Assignment,
    Extra,
    Ignored,
    Layout,
    Source,
    child_dirs,
    is_thumbs_db,
    side_file,
)

SPLITS = ("train", "test", "detection")
BAND_FOLDERS = {"ir": "ir", "vi": "vis"}
#: Words in the name of a split's sub-folder holding labels, not sources.
LABEL_WORDS = ("label", "segmentation")
_ILLUMINATION = {"d": "day", "n": "night"}
_STEM = re.compile(r"^\d+([DNdn]?)$")


#: How many file names of an ir/ folder are looked at to recognise MSRS naming.
NAMES_SAMPLED = 8
_MSRS_NAME = re.compile(r"^\d{5}[DN]\.png$", re.IGNORECASE)


def _has_msrs_names(folder: Path) -> bool:
    """True when one of the first files of ``folder`` is named like ``00537D.png``."""
    try:
        with os.scandir(folder) as entries:
            names = [e.name for e, _ in zip(entries, range(NAMES_SAMPLED), strict=False)]
    except OSError:
        return False
    return any(_MSRS_NAME.match(name) for name in names)


class MSRSLayout(Layout):
    name = "msrs"
    signature = "train/ and/or test/ folders holding ir/ and vi/ with names like 00537D.png"

    def matches(self, root: Path) -> bool:
        """``train/`` and/or ``test/`` with ``ir/`` + ``vi/``, and either a root named ``*msrs*``
        or MSRS file names (``00537D.png``) among the first files of an ``ir/`` folder -- so
        that any other ``train|test/{ir,vi}`` tree is left to ``generic``."""
        dirs = child_dirs(root)
        ir_folders = []
        for split in ("train", "test"):
            if split in dirs:
                sub = child_dirs(root / dirs[split])
                if not {"ir", "vi"} <= set(sub):
                    return False
                ir_folders.append(root / dirs[split] / sub["ir"])
        if not ir_folders:
            return False
        if "msrs" in root.resolve().name.lower():
            return True
        return any(_has_msrs_names(folder) for folder in ir_folders)

    def assign(self, rel: PurePosixPath, root: Path) -> Assignment | None:
        parts = rel.parts
        if len(parts) < 2 or parts[0].lower() not in SPLITS:
            return side_file(rel)
        split = parts[0].lower()
        if is_thumbs_db(rel):
            return Extra("thumbnail", split=split, group=split)
        if len(parts) == 3 and parts[1].lower() in BAND_FOLDERS and is_image_name(rel):
            match = _STEM.match(rel.stem)
            light = _ILLUMINATION.get(match.group(1).lower(), "") if match else ""
            band = BAND_FOLDERS[parts[1].lower()]
            return Source(band, split=split, group=split, key=rel.stem, illumination=light)
        if len(parts) >= 3 and any(w in parts[1].lower() for w in LABEL_WORDS):
            return Ignored(f"annotation ({parts[1]}/)")
        return side_file(rel)
