"""scan on bad input: every problem reported with the file and why, the rest catalogued."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from ivifdata import probe
from ivifdata.catalog import scan
from ivifdata.cli import main


def _png_bytes(tmp_path: Path, seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (40, 50), dtype=np.uint8)
    path = tmp_path / f"_src{seed}.png"
    Image.fromarray(arr).save(path)
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.fixture
def bad_tree(tmp_path):
    """A generic ir/vi tree with one good pair and one bad file of each kind."""
    root = tmp_path / "root"
    (root / "ir").mkdir(parents=True)
    (root / "vi").mkdir()
    good = _png_bytes(tmp_path, 0)
    for band in ("ir", "vi"):
        (root / band / "good.png").write_bytes(good)
    (root / "ir" / "empty.png").write_bytes(b"")
    (root / "ir" / "truncated.png").write_bytes(good[: len(good) // 2])
    corrupt = bytearray(_png_bytes(tmp_path, 1))
    corrupt[200:260] = bytes(60)  # damage compressed pixel data, headers intact
    (root / "ir" / "corrupt.png").write_bytes(bytes(corrupt))
    (root / "ir" / "text.jpg").write_text("this is not a picture")
    for name in ("empty", "truncated", "corrupt", "text"):
        (root / "vi" / f"{name}.png").write_bytes(good)
    (root / "ir" / "sub").mkdir()
    os.symlink(root, root / "ir" / "sub" / "loop")  # root/ir/sub/loop -> root
    os.symlink(root / "missing.png", root / "vi" / "dangling.png")
    os.symlink(root / "ir" / "b.png", root / "ir" / "a.png")  # two links pointing at each other
    os.symlink(root / "ir" / "a.png", root / "ir" / "b.png")
    (root / "vi" / "nothing_here").mkdir()
    return root


def test_bad_files_reported_rest_catalogued(bad_tree):
    res = scan(bad_tree, layout="generic")
    problems = res.problems.set_index("path")
    expect = {
        "ir/empty.png": ("empty file", "0 bytes"),
        "ir/truncated.png": ("corrupt image", "truncated"),
        "ir/corrupt.png": ("corrupt image", "corrupt"),
        "ir/text.jpg": ("not an image", "not an image"),
        "ir/sub/loop": ("symlink loop", "symlink loop"),
        "vi/dangling.png": ("broken symlink", "missing.png"),
        "ir/a.png": ("symlink loop", "symlink loop"),
        "vi/nothing_here": ("empty folder", "empty folder"),
    }
    for path, (kind, words) in expect.items():
        assert problems.loc[path, "kind"] == kind, path
        assert words in problems.loc[path, "message"], path
    # the VIS partners of the bad IR files are catalogued but unpaired
    unpaired = set(problems[problems["kind"] == "unpaired"].index)
    assert unpaired == {f"vi/{n}.png" for n in ("empty", "truncated", "corrupt", "text")}
    assert list(res.pairs["pair_id"]) == ["root:good"]
    assert "ir/empty.png" not in set(res.images["path"])


def test_corrupt_found_by_decoding_not_by_header(bad_tree):
    """The damaged PNG opens fine (valid header); only a full decode finds it."""
    with Image.open(bad_tree / "ir" / "corrupt.png") as img:
        assert img.size == (50, 40)
    res = scan(bad_tree, layout="generic")
    assert "ir/corrupt.png" in set(res.problems["path"])


def test_unreadable_file(bad_tree, monkeypatch):
    target = bad_tree / "ir" / "good.png"
    if os.geteuid() != 0:
        target.chmod(0)
    else:  # root reads mode-000 files anyway: make open() refuse this one path
        real_open = open

        def refusing_open(path, *args, **kwargs):
            if Path(path) == target:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(probe, "open", refusing_open, raising=False)
    res = scan(bad_tree, layout="generic")
    row = res.problems.set_index("path").loc["ir/good.png"]
    assert row["kind"] == "unreadable" and "permission denied" in row["message"]


def test_cli_reports_problems_and_exits_0(bad_tree, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["scan", str(bad_tree), "--layout", "generic", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert (
        "ir/corrupt.png: corrupt or truncated image" in res.output and "Traceback" not in res.output
    )
    assert (out / "problems.csv").read_text().count("\n") == 1 + len(
        scan(bad_tree, layout="generic").problems
    )


def test_cli_exit_2_when_nothing_usable(tmp_path):
    root = tmp_path / "d"
    (root / "ir").mkdir(parents=True)
    (root / "vi").mkdir()
    (root / "ir" / "a.png").write_bytes(b"")
    (root / "vi" / "a.png").write_text("nope")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["scan", str(root), "-o", str(out)])
    assert res.exit_code == 2
    assert "no usable source image" in res.output and "ir/a.png: empty file" in res.output
    assert not out.exists()


def test_cli_usage_errors(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(main, ["scan", str(tmp_path / "nope"), "-o", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    bad_layout = runner.invoke(main, ["scan", str(tmp_path), "--layout", "kaist", "-o", "o"])
    assert bad_layout.exit_code == 2 and "generic" in bad_layout.output
    no_out = runner.invoke(main, ["scan", str(tmp_path)])
    assert no_out.exit_code == 2


def test_empty_root_matches_no_layout(tmp_path):
    res = CliRunner().invoke(main, ["scan", str(tmp_path), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--layout generic" in res.output


def test_header_check_finds_png_damage_but_leaves_gray_unknown(bad_tree):
    res = scan(bad_tree, layout="generic", check="header")
    kinds = res.problems.set_index("path")["kind"]
    for name in ("empty", "truncated", "corrupt"):  # PNG chunk CRCs catch the damage
        assert kinds[f"ir/{name}.png"] in ("empty file", "corrupt image"), name
    assert kinds["ir/text.jpg"] == "not an image"
    good = res.images.set_index("path").loc["ir/good.png"]
    assert good["channels"] == 1 and good["mode"] == "L" and good["gray_in_3ch"] is pd.NA
