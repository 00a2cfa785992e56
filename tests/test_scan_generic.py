"""scan on synthetic generic / msrs trees: pairing by stem, bad input, CLI exit codes."""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from ivifdata.catalog import LayoutNotFoundError, scan
from ivifdata.cli import main
from ivifdata.layouts import detect


def _png(path: Path, shape=(12, 16), rgb=False, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (*shape, 3) if rgb else shape, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def generic_tree(tmp_path):
    root = tmp_path / "mine"
    for i in range(3):
        _png(root / "ir" / f"a{i}.png", seed=i)
        _png(root / "vi" / f"a{i}.jpg", rgb=True, seed=10 + i)
    _png(root / "ir" / "lonely.png")
    return root


def test_generic_pairs_by_stem(generic_tree):
    res = scan(generic_tree)
    assert list(res.datasets["layout"]) == ["generic"]
    assert sorted(res.pairs["ir"]) == [f"ir/a{i}.png" for i in range(3)]
    assert sorted(res.pairs["vis"]) == [f"vi/a{i}.jpg" for i in range(3)]
    assert (res.pairs["ir_size"] == "16x12").all() and (res.pairs["note"] == "").all()
    unpaired = res.problems[res.problems["kind"] == "unpaired"]
    assert list(unpaired["path"]) == ["ir/lonely.png"]
    row = res.images.set_index("path").loc["vi/a0.jpg"]
    assert row["modality"] == "vis" and row["channels"] == 3 and row["mode"] == "RGB"
    assert len(row["sha256"]) == 64


def test_msrs_split_and_illumination(tmp_path):
    root = tmp_path / "MSRS"
    for split, stem in (("train", "00001D"), ("test", "00004N")):
        _png(root / split / "ir" / f"{stem}.png")
        _png(root / split / "vi" / f"{stem}.png", rgb=True)
    (root / "detection" / "labels").mkdir(parents=True)
    (root / "detection" / "labels" / "1.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    assert detect(tmp_path) == [("msrs", root)]
    res = scan(tmp_path)
    pairs = res.pairs.set_index("key")
    assert pairs.loc["00001D", "split"] == "train" and pairs.loc["00001D", "illumination"] == "day"
    assert pairs.loc["00004N", "ir"] == "MSRS/test/ir/00004N.png"
    assert pairs.loc["00004N", "illumination"] == "night"
    assert res.problems.set_index("path").loc["MSRS/detection/labels/1.txt", "kind"] == "ignored"


def test_no_layout_message_and_exit_2(tmp_path):
    (tmp_path / "stuff").mkdir()
    _png(tmp_path / "stuff" / "x.png")
    with pytest.raises(LayoutNotFoundError, match="--layout generic") as err:
        scan(tmp_path)
    assert "msrs" in str(err.value) and "generic" in str(err.value)
    out = CliRunner().invoke(main, ["scan", str(tmp_path), "-o", str(tmp_path / "out")])
    assert out.exit_code == 2 and "Layouts tried" in out.output
    assert "Traceback" not in out.output and not (tmp_path / "out").exists()


def test_cli_writes_three_tables(generic_tree, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["scan", str(generic_tree), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert {p.name for p in out.iterdir()} >= {"catalog.csv", "pairs.csv", "problems.csv"}
    assert "generic" in res.output and "unpaired 1" in res.output


def test_ambiguous_and_unmatched(generic_tree):
    _png(generic_tree / "ir" / "a0.bmp")  # second IR file for key a0
    _png(generic_tree / "stray.png")  # not inside a band folder
    res = scan(generic_tree)
    kinds = res.problems.set_index("path")["kind"]
    assert kinds["ir/a0.png"] == kinds["ir/a0.bmp"] == "ambiguous"
    assert kinds["vi/a0.jpg"] == "unpaired" and kinds["stray.png"] == "unmatched"
    assert sorted(res.pairs["key"]) == ["a1", "a2"]


def test_m3fd_two_subsets_one_dataset(tmp_path):
    for subset in ("M3FD_Fusion", "M3FD_Detection"):
        _png(tmp_path / "M3FD" / subset / "Ir" / "00000.png")
        _png(tmp_path / "M3FD" / subset / "Vis" / "00000.png", rgb=True)
    (tmp_path / "M3FD" / "M3FD_Detection" / "Annotation").mkdir()
    (tmp_path / "M3FD" / "M3FD_Detection" / "Annotation" / "00000.xml").write_text("<a/>")
    res = scan(tmp_path)
    assert sorted(res.pairs["pair_id"]) == ["m3fd:M3FD_Detection/00000", "m3fd:M3FD_Fusion/00000"]
    summary = res.summary().set_index("dataset")
    assert summary.loc["m3fd", "pairs"] == 2 and summary.loc["m3fd", "problems"] == 1  # the xml
