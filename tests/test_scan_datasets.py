"""scan on real dataset files: the bundled subset, the full TNO name tree, and ../shared/data."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from ivifdata.catalog import scan
from ivifdata.layouts import detect

DATA = Path(__file__).parent / "data" / "datasets"
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="module")
def subset():
    return scan(DATA)


def test_subset_detects_each_dataset(subset):
    assert sorted(detect(DATA)) == [
        ("llvip", DATA / "llvip"),
        ("msrs", DATA / "msrs"),
        ("roadscene", DATA / "roadscene"),
        ("tno", DATA / "tno"),
    ]
    # the two non-dataset files next to the dataset roots, and the IR and VIS of Marne_15
    # (620x460 vs 620x450): a pair that a build skips is a problem (issue 13 item 2)
    kinds = subset.problems.set_index("path")["kind"].to_dict()
    marne = "tno/Triclobs_images/Marne_15/Marne_15_"
    assert kinds == {
        "README.md": "outside dataset",
        "tno_full_tree_names.tsv": "outside dataset",
        f"{marne}IR.bmp": "size mismatch",
        f"{marne}Vis.bmp": "size mismatch",
    }
    row = subset.problems.set_index("path").loc[f"{marne}Vis.bmp"]
    assert (row["dataset"], row["group"], row["modality"]) == ("tno", marne[4:-10], "vis")
    assert row["message"] == "ir 620x460 vs vis 620x450: not aligned, a build skips this pair"
    assert subset.summary().set_index("dataset").loc["tno", "problems"] == 2


def test_subset_pairs(subset):
    got = subset.pairs.set_index("pair_id")[["ir", "vis", "nir", "extra", "note"]]
    t, w = "tno/Triclobs_images", "tno/DHV_images/wall"
    expected = {
        "llvip:train/010001": (
            "llvip/infrared/train/010001.jpg",
            "llvip/visible/train/010001.jpg",
            "",
            "",
            "",
        ),
        "msrs:test/00020N": ("msrs/test/ir/00020N.png", "msrs/test/vi/00020N.png", "", "", ""),
        "roadscene:FLIR_video_00069": (
            "roadscene/cropinfrared/FLIR_video_00069.jpg",
            "roadscene/crop_LR_visible/FLIR_video_00069.jpg",
            "",
            "roadscene/crop_HR_visible/FLIR_video_00069.jpg;roadscene/infrared/FLIR_video_00069.png",
            "",
        ),
        "tno:DHV_images/wall": (
            f"{w}/IR_163rad.bmp",
            f"{w}/VIS_163dhvR.BMP",
            f"{w}/NIR_163dhvG.BMP",
            "",
            "",
        ),
        "tno:FEL_images/Tree_sequence/4900": (
            "tno/FEL_images/Tree_sequence/thermal/4900i.bmp",
            "tno/FEL_images/Tree_sequence/visual/4900v.bmp",
            "",
            "",
            "",
        ),
        # NIR_G.bmp and daylight_image.bmp are not in the bundled subset
        "tno:Triclobs_images/Bosnia": (
            f"{t}/Bosnia/LWIR_B.bmp",
            f"{t}/Bosnia/VIS_R.bmp",
            "",
            f"{t}/Bosnia/Thumbs.db",
            "",
        ),
        "tno:Triclobs_images/Marne_15": (
            f"{t}/Marne_15/Marne_15_IR.bmp",
            f"{t}/Marne_15/Marne_15_Vis.bmp",
            "",
            "",
            "size mismatch: ir 620x460, vis 620x450",
        ),
    }
    assert {k: tuple(v) for k, v in got.iterrows()} == expected
    row = subset.pairs.set_index("pair_id").loc["msrs:test/00020N"]
    assert (row["split"], row["group"], row["illumination"]) == ("test", "test", "night")


def test_subset_catalog_fields(subset):
    img = subset.images.set_index("path")
    bosnia = img.loc["tno/Triclobs_images/Bosnia/LWIR_B.bmp"]
    assert (bosnia["mode"], bosnia["channels"], bosnia["width"], bosnia["height"]) == (
        "P",
        1,
        640,
        480,
    )
    wall_ir = img.loc["tno/DHV_images/wall/IR_163rad.bmp"]
    assert wall_ir["mode"] == "RGB" and wall_ir["gray_in_3ch"] and wall_ir["channels"] == 1
    llvip_ir = img.loc["llvip/infrared/train/010001.jpg"]
    assert llvip_ir["gray_in_3ch"] and llvip_ir["sha256"] == (
        "87b143759f8558c3db387c045c3ec045f4954319b4ce58053ab6732a1fd64a5c"
    )
    assert img.loc["msrs/test/vi/00020N.png", "channels"] == 3
    extras = img[img["modality"] == "extra"]["reason"].to_dict()
    assert extras == {
        "roadscene/crop_HR_visible/FLIR_video_00069.jpg": "unaligned",
        "roadscene/infrared/FLIR_video_00069.png": "unaligned",
        "tno/Triclobs_images/Bosnia/Thumbs.db": "thumbnail",
    }


def test_two_workers_give_the_same_tables(subset):
    again = scan(DATA, workers=2)
    pd.testing.assert_frame_equal(again.images, subset.images)
    pd.testing.assert_frame_equal(again.pairs, subset.pairs)
    pd.testing.assert_frame_equal(again.problems, subset.problems)


def _full_tno_tree(root: Path) -> pd.DataFrame:
    """Write a 4x3 image under every name of the complete TNO tree; return the name table."""
    names = pd.read_csv(
        DATA / "tno_full_tree_names.tsv", sep="\t", dtype=str, keep_default_na=False
    )
    tiny = Image.new("L", (4, 3), 7)

    def touch(rel: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in (".bmp", ".tif"):
            tiny.save(path, format="BMP" if path.suffix.lower() == ".bmp" else "TIFF")
        else:
            path.write_bytes(b"not an image")

    for row in names.itertuples(index=False):
        if row.kind == "pair":
            for name in (row.ir_or_reason, row.vis, row.nir):
                if name:
                    touch(f"{row.group_or_path}/{name}")
        else:
            touch(row.group_or_path)
    return names


def test_full_tno_tree_naming_rules(tmp_path):
    root = tmp_path / "TNO_Image_Fusion_Dataset"
    names = _full_tno_tree(root)
    res = scan(tmp_path)
    assert list(res.datasets["layout"]) == ["tno"]
    pairs = names[names["kind"] == "pair"]

    def full(group, name):
        return f"TNO_Image_Fusion_Dataset/{group}/{name}" if name else ""

    expected = {
        (full(g, ir), full(g, vis), full(g, nir))
        for g, ir, vis, nir in pairs[["group_or_path", "ir_or_reason", "vis", "nir"]].itertuples(
            index=False
        )
    }
    got = set(res.pairs[["ir", "vis", "nir"]].itertuples(index=False, name=None))
    assert got == expected and len(got) == 240
    extras = names[names["kind"] == "extra"]
    img = res.images.set_index("path")
    for path, reason in extras[["group_or_path", "ir_or_reason"]].itertuples(index=False):
        assert img.loc[f"TNO_Image_Fusion_Dataset/{path}", "reason"] == reason, path
    problems = res.problems.set_index("path")["kind"]
    assert set(problems) == {"ignored"}
    assert len(problems) == (names["kind"] == "ignored").sum()
    fire = res.pairs[res.pairs["group"] == "DHV_images/Fire_sequence/part_3"]
    assert len(fire) == 61 and set(fire["key"]) == {str(k) for k in range(20, 81)}


@pytest.mark.shared
def test_shared_pairs_tsv_reproduced_exactly():
    if not (SHARED / "PAIRS.tsv").exists():
        pytest.skip("../shared/data is absent")
    res = scan(SHARED)
    expected = pd.read_csv(SHARED / "PAIRS.tsv", sep="\t", dtype=str, keep_default_na=False)
    modes = res.images.set_index("path")["mode"]
    pairs = res.pairs
    got = pd.DataFrame(
        {
            "dataset": pairs["dataset"],
            "group": pairs["group"].replace("", "-"),
            "ir": pairs["ir"],
            "vis": pairs["vis"],
            "nir": pairs["nir"],
            "extra_files": pairs["extra"],
            **{
                col: pairs[band if kind == "mode" else f"{band}_size"].map(modes).fillna("")
                if kind == "mode"
                else pairs[f"{band}_size"]
                for band in ("ir", "vis", "nir")
                for kind, col in (("size", f"{band}_WxH"), ("mode", f"{band}_mode"))
            },
        }
    )[expected.columns]
    # PAIRS.tsv is hand-written: compare extras as sets, rows independent of order
    for frame in (expected, got):
        frame["extra_files"] = frame["extra_files"].map(lambda s: ";".join(sorted(s.split(";"))))
    key = ["dataset", "group", "ir", "vis", "nir"]
    pd.testing.assert_frame_equal(
        got.sort_values(key, ignore_index=True), expected.sort_values(key, ignore_index=True)
    )
    marne = pairs.set_index("group").loc["Triclobs_images/Marne_15", "note"]
    assert marne == "size mismatch: ir 620x460, vis 620x450, nir 620x460"


@pytest.mark.shared
def test_shared_catalog_matches_manifest():
    if not (SHARED / "MANIFEST.tsv").exists():
        pytest.skip("../shared/data is absent")
    res = scan(SHARED)
    manifest = pd.read_csv(SHARED / "MANIFEST.tsv", sep="\t", dtype=str, keep_default_na=False)
    img = res.images.set_index("path")
    assert sorted(img.index) == sorted(manifest["path"])  # every data file, nothing else
    for row in manifest.itertuples(index=False):
        cat = img.loc[row.path]
        assert cat["sha256"] == row.sha256 and int(cat["bytes"]) == int(row.bytes)
        if row.format != "non-image":
            assert cat["mode"] == row.mode and f"{cat['width']}x{cat['height']}" == row.size_WxH
            # a gray palette (Bosnia) decodes to identical channels, like a gray-in-3ch RGB file
            gray3 = row.channels_note == "gray-in-3ch" or row.mode == "P"
            assert bool(cat["gray_in_3ch"]) == gray3, row.path
    kinds = res.problems.groupby("kind")["path"].apply(sorted).to_dict()
    marne = "tno/Triclobs_images/Marne_15/Marne_15_"
    assert kinds["size mismatch"] == [f"{marne}IR.bmp", f"{marne}Vis.bmp"]  # 620x460 vs 450
    assert set(kinds) == {"outside dataset", "size mismatch"}  # README.md, PAIRS.tsv, MANIFEST


def test_copy_of_subset_under_another_root_name(tmp_path):
    """A renamed MSRS root is still found (folder signature + MSRS file names)."""
    shutil.copytree(DATA / "msrs", tmp_path / "copy")
    res = scan(tmp_path)
    assert list(res.pairs["pair_id"]) == ["msrs:test/00020N"]


def test_header_check_agrees_with_decode_except_gray(subset):
    fast = scan(DATA, check="header").images.set_index("path")
    full = subset.images.set_index("path")
    same = ["modality", "width", "height", "mode", "bit_depth", "bytes", "sha256"]
    pd.testing.assert_frame_equal(fast[same], full[same])
    # only the RGB files that hold gray (LLVIP IR, DHV wall IR) differ: 3 stored channels vs 1
    differ = set(fast.index[fast["channels"] != full["channels"]])
    assert differ == {"llvip/infrared/train/010001.jpg", "tno/DHV_images/wall/IR_163rad.bmp"}
    assert fast["gray_in_3ch"].isna().all()


def test_written_tables_read_back_identical(subset, tmp_path):
    from ivifdata.catalog import ScanResult

    subset.write(tmp_path)
    back = ScanResult.read(tmp_path)
    pd.testing.assert_frame_equal(back.images, subset.images)
    pd.testing.assert_frame_equal(back.pairs, subset.pairs)
    pd.testing.assert_frame_equal(back.problems, subset.problems)
    assert back.images["width"].dtype == "Int64" and back.images["gray_in_3ch"].dtype == "boolean"
    assert not list(tmp_path.glob(".*tmp*"))  # no temp files left behind
