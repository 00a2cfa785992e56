"""``ivifmodels fuse``: folders with bad pairs, single files, usage errors (exit 2)."""

import numpy as np
import pytest
from click.testing import CliRunner

from ivifdata.imageio import read_gray, read_image, write_png
from ivifmodels.cli import main
from ivifmodels.fuse import fuse_images


@pytest.fixture
def folders(tmp_path, models_data):
    """ir/ and vis/ with one good pair (a) and three bad ones (b: no VIS, c: sizes, d: junk)."""
    ir = read_gray(models_data / "msrs" / "ir" / "00004N.png")[200:330, 300:470]
    vis = read_image(models_data / "msrs" / "vi" / "00004N.png")[200:330, 300:470]
    (tmp_path / "ir").mkdir()
    (tmp_path / "vis").mkdir()
    for stem in ("a", "b", "c"):
        write_png(tmp_path / "ir" / f"{stem}.png", ir)
    write_png(tmp_path / "vis" / "a.png", vis)
    write_png(tmp_path / "vis" / "c.png", vis[:, :-3])
    (tmp_path / "ir" / "d.png").write_bytes(b"\x89PNG broken")
    write_png(tmp_path / "vis" / "d.png", vis)
    return tmp_path, ir, vis


def test_folder_with_bad_pairs(folders, released, released_files):
    root, ir, vis = folders
    out = root / "out"
    args = [
        "fuse",
        "--model",
        "cnn",
        "--weights",
        str(released_files["cnn"]),
        "--ir",
        str(root / "ir"),
    ]
    args += ["--vis", str(root / "vis"), "-o", str(out), "--save-float", "--batch", "3"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1, res.output
    assert f"skipped {root / 'ir' / 'b.png'}: no VIS image with this name" in res.stderr
    assert "size mismatch: IR is 170x130, VIS is 167x130" in res.stderr
    assert f"skipped {root / 'ir' / 'd.png'}: " in res.stderr
    assert "cnn: fused 1 pair(s)" in res.stdout and "skipped 3" in res.stdout
    # no partial files; the manifest records what fuse wrote (docs/models.md)
    assert sorted(p.name for p in out.iterdir()) == [".ivifmodels-fuse.jsonl", "a.npy", "a.png"]
    image, fused = fuse_images(released("cnn"), ir, vis, batch=3)
    assert np.array_equal(read_image(out / "a.png"), image) and image.shape == (130, 170, 3)
    saved = np.load(out / "a.npy")
    assert saved.dtype == np.float32 and np.array_equal(saved, fused.astype(np.float32))


def test_single_files_gray_clip(folders, monkeypatch, released, models_data):
    root, ir, vis = folders
    monkeypatch.setenv("IVIF_WEIGHTS", str(models_data / "weights"))
    args = ["fuse", "--model", "transformer", "--ir", str(root / "ir" / "a.png"), "--vis"]
    args += [str(root / "vis" / "a.png"), "-o", str(root / "o"), "--gray", "--scale", "clip"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    image, _ = fuse_images(released("transformer"), ir, vis, output="clip", gray=True)
    assert np.array_equal(read_image(root / "o" / "a.png"), image) and image.ndim == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tile", "126"], "tile must be a positive multiple of 4"),
        (["--stride", "200"], "stride must be between 1 and the tile size 128"),
        (["--batch", "0"], "--batch"),
        (["--weights", __file__], "not a readable PyTorch state dict"),
        (["--model", "unet"], "'unet' is not one of"),
    ],
)
def test_usage_errors_exit_2(folders, released_files, extra, message):
    root = folders[0]
    args = [
        "fuse",
        "--model",
        "cnn",
        "--weights",
        str(released_files["cnn"]),
        "--ir",
        str(root / "ir"),
    ]
    args += ["--vis", str(root / "vis"), "-o", str(root / "out"), *extra]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and message in res.output
    assert not (root / "out").exists()


def test_usage_errors_inputs(folders, monkeypatch):
    root = folders[0]
    monkeypatch.delenv("IVIF_WEIGHTS", raising=False)
    run = CliRunner().invoke
    base = ["fuse", "--model", "gan", "-o", str(root / "out")]
    res = run(main, [*base, "--ir", str(root / "ir"), "--vis", str(root / "vis")])
    assert res.exit_code == 2 and "set IVIF_WEIGHTS to the folder holding GAN.model" in res.output
    res = run(main, [*base, "--ir", str(root / "ir"), "--vis", str(root / "vis" / "a.png")])
    assert res.exit_code == 2 and "must be two existing files or two folders" in res.output
    (root / "empty").mkdir()
    res = run(main, [*base, "--ir", str(root / "empty"), "--vis", str(root / "vis")])
    assert res.exit_code == 2 and "no IR/VIS pairs found" in res.output
