"""Every source image a build drops is counted, recorded with its reason and shown (issue 13
item 1): unreadable, bands of different sizes, smaller than a patch, no image of the other band."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ivifdata.build import RECORD_FILE
from ivifdata.cli import main
from ivifdata.imageio import read_gray, write_png

SAMPLE = Path(__file__).resolve().parents[1] / "ivifdata" / "sample" / "msrs" / "test"


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    """A generic ir/ + vi/ tree of real MSRS crops: one good pair, two pairs with a truncated
    file (IR of one, VIS of the other), a size mismatch, a pair too small for a patch and an IR
    image without VIS; and a strict recipe over it."""
    root = tmp_path / "d"
    ir = read_gray(SAMPLE / "ir" / "00055D.png")
    vis = read_gray(SAMPLE / "vi" / "00055D.png")
    for band, image in (("ir", ir), ("vi", vis)):
        (root / band).mkdir(parents=True)
        write_png(root / band / "good.png", image)
        for name in ("cut_ir", "cut_vis"):
            write_png(root / band / f"{name}.png", image[:, ::-1])
        write_png(root / band / "mismatch.png", image if band == "ir" else image[:-8])
        write_png(root / band / "small.png", image[:60, :60])
    write_png(root / "ir" / "lonely.png", ir)
    for band, name in (("ir", "cut_ir"), ("vi", "cut_vis")):
        data = (root / band / f"{name}.png").read_bytes()
        (root / band / f"{name}.png").write_bytes(data[: len(data) // 2])
    path = tmp_path / "r.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "dropped",
                "ir": {"root": "d", "layout": "generic"},
                "vis": {"root": "d", "layout": "generic"},
                "patch": {"size": 64, "stride": 64},
                "subset": {"n": "all"},
                "pairing": {"mode": "strict"},
            }
        )
    )
    return path


EXPECTED = {
    "ir/cut_ir.png": "corrupt image: corrupt or truncated image",
    "vi/cut_ir.png": "no usable ir image (ir/cut_ir.png: corrupt image)",
    "ir/cut_vis.png": "no usable vis image (vi/cut_vis.png: corrupt image)",
    "vi/cut_vis.png": "corrupt image: corrupt or truncated image",
    "ir/mismatch.png": "size mismatch: ir 320x240 vs vis 320x232 (not aligned)",
    "vi/mismatch.png": "size mismatch: ir 320x240 vs vis 320x232 (not aligned)",
    "ir/small.png": "too small: 60x60 is smaller than patch.size 64",
    "vi/small.png": "too small: 60x60 is smaller than patch.size 64",
    "ir/lonely.png": "no vis image for this pair (aligned pairs needed)",
}


def test_dropped_images_are_counted_recorded_and_inspected(recipe, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(recipe), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"built: {out}: 15 patches")  # the good pair, 5 x 3 grid
    assert result.stdout.rstrip().endswith(f"{len(EXPECTED)} source image(s) skipped")
    record = json.loads((out / RECORD_FILE).read_text())
    [source] = record["sources"]
    assert [image["path"] for image in source["images"]] == [["ir/good.png", "vi/good.png"]]
    skipped = {k["path"]: k["reason"] for k in source["skipped"]}
    assert skipped.keys() == EXPECTED.keys()
    assert all(skipped[p].startswith(EXPECTED[p]) for p in EXPECTED), skipped
    for path in EXPECTED:
        assert f"skipped {path}: {skipped[path]}" in result.stderr
    shown = CliRunner().invoke(main, ["inspect", str(out)])
    assert (
        shown.exit_code == 0 and "1 images (d 1), 15 candidate patches, 9 skipped" in shown.output
    )
    assert f"skipped    ir/cut_ir.png: {skipped['ir/cut_ir.png']}" in shown.output
    again = CliRunner().invoke(main, ["build", str(recipe), "-o", str(out), "--strict"])
    assert again.exit_code == 1 and again.stdout.startswith("up to date:")
    assert again.stderr.rstrip().endswith("error: 9 source image(s) skipped (--strict)")


def test_strict_build_without_drops_exits_0(recipe, tmp_path):
    keys = ["--set", "ir.match=ir/good.png", "--set", "vis.match=ir/good.png", "--strict"]
    result = CliRunner().invoke(main, ["build", str(recipe), "-o", str(tmp_path / "o"), *keys])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith(", 0 source image(s) skipped")
    assert "skipped " not in result.stderr
