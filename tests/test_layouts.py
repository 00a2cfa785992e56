"""Layout naming rules, path by path (no file is opened), and detection by folder signature."""

from pathlib import Path, PurePosixPath

import pytest

from ivifdata.layouts import LAYOUTS, detect
from ivifdata.layouts.base import Extra, Ignored, Source, name_tokens
from ivifdata.layouts.tno import classify_stem, frame_key


def assign(layout: str, rel: str, root: Path = Path("/nowhere/root")):
    return LAYOUTS[layout].assign(PurePosixPath(rel), root)


def test_registry_order_specific_before_generic():
    assert list(LAYOUTS) == ["tno", "roadscene", "msrs", "m3fd", "llvip", "generic"]


def test_name_tokens():
    assert name_tokens("NIR_163dhvG") == ["nir", "163", "dhvg"]
    assert name_tokens("VIS_bunker-rg") == ["vis", "bunker", "rg"]
    assert name_tokens("Vis01") == ["vis", "01"]


@pytest.mark.parametrize(
    "stem, expected",
    [
        ("IR_bunker_g", ("ir", "")),
        ("bunker_r", ("vis", "")),
        ("VIS_bunker-rg", ("", "composite")),  # the VIS_ trap
        ("fk_ge_03_005_rg", ("", "composite")),
        ("2_fk_ge_03_005", ("ir", "")),
        ("1_fk_ge_03_005", ("vis", "")),
        ("IR_hei_vis_g", ("ir", "")),  # two band words: the first wins
        ("IR_fk_ref_01_005", ("ir", "")),  # 'ref' inside a source name
        ("Kaptein_1654_REF", ("", "photo")),
        ("Kaptein_1654_ref_with_man", ("", "photo")),
        ("daylight_image", ("", "photo")),
        ("photo", ("", "photo")),
        ("RGB", ("", "composite")),
        ("scene_rgb", ("", "composite")),
        ("Jeep_II", ("nir", "")),
        ("NIR19", ("nir", "")),
        ("Vis19", ("vis", "")),
        ("IR19", ("ir", "")),
        ("B_LWIR", ("ir", "")),
        ("G_NIR", ("nir", "")),
        ("R_Vis", ("vis", "")),
        ("LWIR_B", ("ir", "")),
        ("a_VIS-MarnehNew_24RGB_1110", ("vis", "")),
        ("IR_37rad", ("ir", "")),
        ("VIS_37dhvR", ("vis", "")),
        ("NIR_37dhvG", ("nir", "")),
        ("Vis", ("vis", "")),
        ("ir", ("ir", "")),
        ("snapshot", ("", "")),
    ],
)
def test_tno_classify_stem(stem, expected):
    assert classify_stem(stem) == expected


def test_tno_sequences_and_side_files():
    assert assign("tno", "DHV_images/Fire_sequence/part_2/rad/RADheli12.bmp") == Source(
        "ir", group="DHV_images/Fire_sequence/part_2", key="12"
    )
    assert assign("tno", "FEL_images/Nato_camp_sequence/visual/1800v.bmp") == Source(
        "vis", group="FEL_images/Nato_camp_sequence", key="1800"
    )
    assert frame_key("DHV02") == frame_key("RAD2") == "2"
    assert isinstance(assign("tno", "DHV_images/Fire_sequence/part_2/colfuse.m"), Ignored)
    assert assign("tno", "Triclobs_images/Bosnia/Thumbs.db") == Extra(
        "thumbnail", group="Triclobs_images/Bosnia"
    )
    assert assign("tno", "Triclobs_images/Farm/notes.dat") is None


def test_roadscene_folders():
    assert assign("roadscene", "cropinfrared/FLIR_00006.jpg") == Source("ir", key="FLIR_00006")
    assert assign("roadscene", "crop_LR_visible/FLIR_video_00069.jpg") == Source(
        "vis", key="FLIR_video_00069"
    )
    assert assign("roadscene", "crop_HR_visible/FLIR_00006.jpg") == Extra(
        "unaligned", key="FLIR_00006"
    )
    assert assign("roadscene", "infrared/FLIR_00006.png") == Extra("unaligned", key="FLIR_00006")
    assert assign("roadscene", "crop_HR_visible/Thumbs.db") == Extra("thumbnail")


def test_msrs_llvip_names():
    assert assign("msrs", "train/vi/00001D.png") == Source(
        "vis", split="train", group="train", key="00001D", illumination="day"
    )
    assert assign("msrs", "detection/ir/17.png") == Source(
        "ir", split="detection", group="detection", key="17"
    )
    assert isinstance(assign("msrs", "train/Segmentation_labels/00001D.png"), Ignored)
    assert assign("llvip", "infrared/test/190001.jpg") == Source(
        "ir", split="test", group="test", key="190001"
    )
    assert isinstance(assign("llvip", "Annotations/010001.xml"), Ignored)
    assert assign("llvip", "infrared/190001.jpg") is None


def test_m3fd_subset(tmp_path):
    bare = tmp_path / "m3fd"
    assert assign("m3fd", "Ir/00471.png", bare).group == "M3FD_Detection"  # > 299: not in Fusion
    assert assign("m3fd", "Ir/00012.png", bare).group == ""  # could be either subset
    fusion = tmp_path / "M3FD_Fusion"
    assert assign("m3fd", "Vis/00012.png", fusion) == Source(
        "vis", group="M3FD_Fusion", key="00012"
    )
    det = tmp_path / "det"
    (det / "Annotation").mkdir(parents=True)
    assert assign("m3fd", "Ir/00012.png", det).group == "M3FD_Detection"


def test_generic_nested_and_splits():
    assert assign("generic", "train/ir/a/b.png") == Source(
        "ir", split="train", group="train", key="a/b"
    )
    assert assign("generic", "VIS/x.jpg") == Source("vis", key="x")
    assert assign("generic", "readme.png") is None


def test_detect_folder_of_several(tmp_path):
    for d in (
        "a/MSRS/test/ir",
        "a/MSRS/test/vi",
        "b/RoadScene/cropinfrared",
        "b/RoadScene/crop_LR_visible",
        "M3FD/M3FD_Fusion/Ir",
        "M3FD/M3FD_Fusion/Vis",
        "LLVIP/infrared/train",
        "LLVIP/visible/train",
        "TNO_Image_Fusion_Dataset/Athena_images",
        "mine/ir",
        "mine/vis",
    ):
        (tmp_path / d).mkdir(parents=True)
    found = {(name, str(p.relative_to(tmp_path))) for name, p in detect(tmp_path)}
    assert found == {
        ("msrs", "a/MSRS"),
        ("roadscene", "b/RoadScene"),
        ("m3fd", "M3FD/M3FD_Fusion"),
        ("llvip", "LLVIP"),
        ("tno", "TNO_Image_Fusion_Dataset"),
        ("generic", "mine"),
    }


def test_tno_mirror_root_without_categories(tmp_path):
    """The GitHub mirror drops the category folders; a root named like the archive still works."""
    root = tmp_path / "TNO_Image_Fusion_Dataset"
    for d in ("Bosnia", "thermal", "visual"):
        (root / d).mkdir(parents=True)
    assert detect(tmp_path) == [("tno", root)]
    assert assign("tno", "thermal/7400i.bmp") == Source("ir", group="", key="7400")
    assert assign("tno", "visual/7400v.bmp") == Source("vis", group="", key="7400")
    assert assign("tno", "Bosnia/LWIR_B.bmp") == Source("ir", group="Bosnia")


def test_msrs_needs_msrs_names_else_generic(tmp_path):
    for d in ("mine/train/ir", "mine/train/vi", "other/test/ir", "other/test/vi"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "mine/train/ir/img_001.png").touch()
    (tmp_path / "other/test/ir/00004N.png").touch()
    found = {p.name: name for name, p in detect(tmp_path)}
    assert found == {"mine": "generic", "other": "msrs"}
