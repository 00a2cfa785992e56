"""``tno``: the TNO Image Fusion Dataset tree (Toet, figshare 10.6084/m9.figshare.1008029).

Root: ``TNO_Image_Fusion_Dataset/`` with ``Athena_images``, ``Triclobs_images``, ``DHV_images``,
``FEL_images`` and ``tank`` (a category folder itself is accepted as root too, and so is a root
named ``TNO_Image_Fusion_Dataset`` without them, as in the GitHub mirror). Two shapes:

* **scene folders** (one pair/triple per folder, key ``""``; group = folder path, e.g.
  ``Athena_images/APC_2/view_1``): the band is read from the file name, see
  :func:`classify_stem`;
* **sequence folders** ``<seq>/{thermal|rad, visual|dhv}/<frame>``: the band is given by the
  sub-folder, the key is the frame number in the name (``RAD2``/``DHV2``, ``RADheli5``,
  ``4900i``/``4900v``); group = the sequence folder (``DHV_images/Fire_sequence/part_1``).

Files that are not sources (also :func:`classify_stem`): colour composites (``*_rg``, ``*-rg``,
``RGB.tif`` -- including ``VIS_bunker-rg.bmp``, whose ``VIS_`` prefix is a trap), daylight photos
(``photo``, ``daylight_image``, ``*_REF``, ``*_ref_with_man``) and ``Thumbs.db``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from ivifdata.files import is_image_name
from ivifdata.layouts.base import (
    Assignment,
    Extra,
    Layout,
    Source,
    child_dirs,
    is_thumbs_db,
    name_tokens,
    side_file,
)

CATEGORIES = frozenset(
    {"athena_images", "triclobs_images", "dhv_images", "fel_images", "duine_sequence"}
)
#: The figshare archive's root folder name (lower case).
ROOT_NAME = "tno_image_fusion_dataset"
#: Sub-folders of a sequence whose name gives the band (FEL thermal/visual, DHV rad|thermal/dhv).
SEQUENCE_FOLDERS = {"thermal": "ir", "rad": "ir", "visual": "vis", "dhv": "vis"}
#: Band words in a file name (as tokens, see name_tokens) -> band. ``II`` = image intensified.
BAND_WORDS = {
    "ir": "ir",
    "lwir": "ir",
    "thermal": "ir",
    "nir": "nir",
    "ii": "nir",
    "vis": "vis",
    "visible": "vis",
}
#: Words marking a photo of the scene taken separately (other size / not registered).
PHOTO_WORDS = frozenset({"photo", "daylight", "ref"})
#: Athena: modality given only by a ``1_`` (visual) / ``2_`` (thermal) prefix.
_DIGIT_PREFIX = re.compile(r"^([12])_")
DIGIT_PREFIX_BANDS = {"1": "vis", "2": "ir"}
#: Last letter after ``_``/``-`` or a digit: Athena ``bunker_r`` (= R of the composite, visual),
#: ``IR_bunker_g`` (G, thermal); FEL ``4900i`` / ``4900v``.
_SUFFIX_LETTER = re.compile(r"(?:[_\-]|(?<=\d))([rgiv])$", re.IGNORECASE)
SUFFIX_LETTER_BANDS = {"r": "vis", "g": "ir", "i": "ir", "v": "vis"}


def is_composite(tokens: list[str]) -> bool:
    """``*_rg`` / ``*-rg`` (Athena R=visual, G=thermal composites), ``RGB`` / ``*_rgb``
    (Triclobs). An ``RGB`` token inside a name (``a_VIS-MarnehNew_24RGB_1110``) does not count."""
    return bool(tokens) and tokens[-1] in ("rg", "rgb")


def classify_stem(stem: str) -> tuple[str, str]:
    """``(band, "")`` for a source, ``("", reason)`` for an extra, ``("", "")`` if unknown.

    Order matters: composite first (``VIS_bunker-rg`` is a composite despite ``VIS_``); then
    band words anywhere (``IR``/``LWIR``, ``NIR``/``II``, ``VIS``; the first wins when they
    disagree, as in ``IR_hei_vis_g``); then photo words (``photo``, ``daylight``, ``REF`` --
    after the band words because ``IR_fk_ref_01_005`` is a source); then the Athena ``1_``/``2_``
    prefix; then a one-letter suffix (``bunker_r``, ``4900i``).
    """
    tokens = name_tokens(stem)
    if is_composite(tokens):
        return "", "composite"
    bands = [BAND_WORDS[t] for t in tokens if t in BAND_WORDS]
    if bands:
        return bands[0], ""
    if PHOTO_WORDS & set(tokens):
        return "", "photo"
    prefix = _DIGIT_PREFIX.match(stem)
    if prefix:
        return DIGIT_PREFIX_BANDS[prefix.group(1)], ""
    suffix = _SUFFIX_LETTER.search(stem)
    return (SUFFIX_LETTER_BANDS[suffix.group(1).lower()] if suffix else ""), ""


def frame_key(stem: str) -> str:
    """The frame number in a sequence file name (last digit run, leading zeros dropped)."""
    numbers = re.findall(r"\d+", stem)
    return str(int(numbers[-1])) if numbers else stem.lower()


class TNOLayout(Layout):
    name = "tno"
    signature = "Athena_images/, Triclobs_images/, DHV_images/ or FEL_images/ folders"

    def matches(self, root: Path) -> bool:
        name = root.resolve().name.lower()
        if name in CATEGORIES or name.startswith(ROOT_NAME):
            return True
        return bool(CATEGORIES & set(child_dirs(root)))

    def assign(self, rel: PurePosixPath, root: Path) -> Assignment | None:
        folders = rel.parts[:-1]
        in_sequence = bool(folders) and folders[-1].lower() in SEQUENCE_FOLDERS
        group = "/".join(folders[:-1] if in_sequence else folders)
        if is_thumbs_db(rel):
            return Extra("thumbnail", group=group)
        if not is_image_name(rel):
            return side_file(rel)
        if in_sequence:
            band = SEQUENCE_FOLDERS[folders[-1].lower()]
            return Source(band, group=group, key=frame_key(rel.stem))
        band, reason = classify_stem(rel.stem)
        if reason:
            return Extra(reason, group=group)
        return Source(band, group=group) if band else None
