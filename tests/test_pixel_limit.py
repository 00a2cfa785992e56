"""A tiny PNG whose header claims 100000x100000 pixels is one more bad file (issue 14 item 4):
reported and skipped by scan, build, metrics, eval and fuse, never PIL's DecompressionBombError.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from ivifbench.cli import main as bench_main
from ivifdata.catalog import scan
from ivifdata.cli import main as data_main
from ivifdata.imageio import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_ENV,
    ImageReadError,
    read_gray,
    read_image,
    verify_image_header,
    write_png,
)
from ivifmodels.cli import main as models_main

TRIPLE = Path(__file__).parent / "data" / "triples" / "msrs_00004N_lap"


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking 8-bit gray PNG of a few hundred bytes whose IHDR claims width x height."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 4096, 9)  # a few rows' worth; the rest is "missing"
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_bomb_is_an_image_read_error_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png())
    assert path.stat().st_size < 1000
    for read in (read_image, read_gray, lambda p: verify_image_header(p.read_bytes(), p)):
        with pytest.raises(ImageReadError, match="image too large: 100000x100000") as err:
            read(path)
        assert MAX_PIXELS_ENV in str(err.value) and str(path) in str(err.value)


def test_limit_is_set_by_the_environment_variable(tmp_path, monkeypatch) -> None:
    path = tmp_path / "small.png"
    write_png(path, np.zeros((40, 50), np.uint8))
    monkeypatch.setenv(MAX_PIXELS_ENV, "1999")
    with pytest.raises(ImageReadError, match="50x40 = 2,000 pixels, over the limit of 1,999"):
        read_image(path)
    monkeypatch.setenv(MAX_PIXELS_ENV, "2000")
    assert read_image(path).shape == (40, 50)
    # raised above PIL's own bomb limit (2 x 89,478,485): our limit decides, not PIL's
    big = tmp_path / "big.png"
    big.write_bytes(bomb_png(20_000, 10_000))
    monkeypatch.setenv(MAX_PIXELS_ENV, str(300_000_000))
    assert verify_image_header(big.read_bytes(), big).width == 20_000
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(ImageReadError, match="IVIF_MAX_PIXELS='lots': must be a positive"):
        read_image(path)
    monkeypatch.delenv(MAX_PIXELS_ENV)
    assert DEFAULT_MAX_PIXELS == 8192 * 8192


@pytest.fixture
def folder_with_bomb(tmp_path: Path) -> Path:
    """A generic ir/ + vi/ tree: two real pairs (MSRS crops) and one pair whose IR is a bomb."""
    root = tmp_path / "data" / "d"
    ir = read_gray(TRIPLE / "ir.png")
    vis = read_gray(TRIPLE / "vis.png")
    for band, image in (("ir", ir), ("vi", vis)):
        (root / band).mkdir(parents=True)
        write_png(root / band / "a.png", image[:128, :128])
        write_png(root / band / "b.png", image[-128:, -128:])
        write_png(root / band / "c.png", image[:128, -128:])
    (root / "ir" / "c.png").write_bytes(bomb_png())
    return root


def test_scan_reports_the_bomb_and_catalogs_the_rest(folder_with_bomb, tmp_path) -> None:
    res = scan(folder_with_bomb, layout="generic")
    row = res.problems.set_index("path").loc["ir/c.png"]
    assert row["kind"] == "too large" and "100000x100000" in row["message"]
    assert sorted(res.pairs["key"]) == ["a", "b"]
    result = CliRunner().invoke(
        data_main, ["scan", str(folder_with_bomb), "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert "too large 1" in result.stderr and "ir/c.png: image too large" in result.stderr
    assert "Traceback" not in result.output


def test_build_skips_the_bomb(folder_with_bomb, tmp_path) -> None:
    recipe = tmp_path / "data" / "r.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "name": "bomb",
                "ir": {"root": "d", "layout": "generic"},
                "vis": {"root": "d", "layout": "generic"},
                "patch": {"size": 64, "stride": 64},
                "subset": {"n": 8},
                "pairing": {"mode": "strict"},
            }
        )
    )
    result = CliRunner().invoke(data_main, ["build", str(recipe), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "8 patches" in result.stdout and "2 source image(s) skipped" in result.stdout
    assert "skipped ir/c.png: too large: " in result.stderr
    assert "skipped vi/c.png: no usable ir image (ir/c.png: too large)" in result.stderr


def test_metrics_exits_2_naming_the_file(tmp_path) -> None:
    bomb = tmp_path / "fused.png"
    bomb.write_bytes(bomb_png())
    args = ["metrics", "--ir", str(TRIPLE / "ir.png"), "--vis", str(TRIPLE / "vis.png")]
    result = CliRunner().invoke(bench_main, [*args, "--fused", str(bomb)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: fused image {bomb}: image too large")
    assert result.stderr.count("\n") == 1


def test_eval_lists_the_bomb_and_evaluates_the_rest(
    dataset_dirs, eval_copy, evaluate, tmp_path
) -> None:
    data = eval_copy
    results, _, _ = dataset_dirs(data, "msrs")
    (results / "GAN" / "00004N.png").write_bytes(bomb_png())
    summary = evaluate(data, "msrs", tmp_path / "per_image.csv")
    bad = [p for p in summary.problems if p.method == "GAN" and p.image == "00004N"]
    assert [p.kind for p in bad] == ["unreadable"] and "image too large" in bad[0].detail
    assert summary.evaluated > 0


def test_fuse_skips_the_bomb_and_fuses_the_rest(models_data, folder_with_bomb, tmp_path) -> None:
    args = ["fuse", "--model", "cnn", "--weights", str(models_data / "weights" / "CNN.model")]
    args += ["--ir", str(folder_with_bomb / "ir"), "--vis", str(folder_with_bomb / "vi")]
    result = CliRunner().invoke(models_main, [*args, "-o", str(tmp_path / "fused")])
    assert result.exit_code == 1, result.output
    assert f"skipped {folder_with_bomb / 'ir' / 'c.png'}: " in result.stderr
    assert "image too large" in result.stderr and "Traceback" not in result.output
    fused = sorted(p.name for p in (tmp_path / "fused").iterdir() if not p.name.startswith("."))
    assert fused == ["a.png", "b.png"]  # (the hidden file is fuse's manifest of its outputs)
