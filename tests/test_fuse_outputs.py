"""``ivifmodels fuse`` output folder: separate from the inputs, no foreign file replaced without
--overwrite, not created when nothing is fused; broken and looping symlinks reported."""

import errno
import json
import os

import pytest
from click.testing import CliRunner

from ivifdata.imageio import read_gray, read_image, write_png
from ivifmodels.cli import main
from ivifmodels.outputs import MANIFEST


@pytest.fixture
def inputs(tmp_path, models_data):
    """ir/a.png and vis/a.png: one small real pair."""
    (tmp_path / "ir").mkdir()
    (tmp_path / "vis").mkdir()
    write_png(
        tmp_path / "ir" / "a.png",
        read_gray(models_data / "msrs" / "ir" / "00004N.png")[200:264, 300:364],
    )
    write_png(
        tmp_path / "vis" / "a.png",
        read_image(models_data / "msrs" / "vi" / "00004N.png")[200:264, 300:364],
    )
    return tmp_path


@pytest.fixture
def fuse(released_files):
    """``fuse(ir, vis, out, *extra)``: ``ivifmodels fuse`` of the released CNN, small tiles."""

    def run(ir, vis, out, *extra):
        weights = str(released_files["cnn"])
        args = ["fuse", "--model", "cnn", "--weights", weights, "--ir", str(ir), "--vis", str(vis)]
        args += ["-o", str(out), "--tile", "64", "--stride", "32", "--threads", "1", *extra]
        return CliRunner().invoke(main, args)

    return run


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_no_output_folder_when_every_pair_is_skipped(fuse, inputs):
    (inputs / "ir" / "a.png").write_bytes(b"\x89PNG broken")
    out = inputs / "out" / "cnn"
    result = fuse(inputs / "ir", inputs / "vis", out)
    assert result.exit_code == 1, result.output
    assert "fused 0 pair(s) (nothing written), skipped 1" in result.stdout
    assert not (inputs / "out").exists()


@pytest.mark.parametrize(
    "where",
    ["ir", "vis", "ir/sub", ".", "link"],
    ids=["is", "is-vis", "inside", "contains", "link"],
)
def test_output_overlapping_an_input_folder_is_refused(fuse, inputs, where):
    (inputs / "link").symlink_to(inputs / "ir")
    before = {name: snapshot(inputs / name) for name in ("ir", "vis")}
    result = fuse(inputs / "ir", inputs / "vis", inputs / where)
    assert result.exit_code == 2, result.output
    assert "overlaps the --" in result.output and "Traceback" not in result.output
    assert {name: snapshot(inputs / name) for name in ("ir", "vis")} == before
    assert not (inputs / "ir" / "sub").exists()


def test_output_folder_of_a_single_input_file_is_refused(fuse, inputs):
    before = snapshot(inputs / "ir")
    result = fuse(inputs / "ir" / "a.png", inputs / "vis" / "a.png", inputs / "ir")
    assert result.exit_code == 2 and "holds the --ir file" in result.output
    assert snapshot(inputs / "ir") == before


def test_foreign_files_are_replaced_only_with_overwrite(fuse, inputs):
    out = inputs / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"my own figure")
    result = fuse(inputs / "ir", inputs / "vis", out)
    assert result.exit_code == 2, result.output
    assert "a.png already exist(s) and was not written by ivifmodels fuse" in result.output
    assert (out / "a.png").read_bytes() == b"my own figure"
    assert fuse(inputs / "ir", inputs / "vis", out, "--overwrite").exit_code == 0
    fused = (out / "a.png").read_bytes()
    assert fused != b"my own figure"
    records = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    assert [(r["file"], r["model"]) for r in records] == [("a.png", "cnn")]
    # a previous output is replaced without --overwrite, also after a cut manifest line
    with open(out / MANIFEST, "a") as handle:
        handle.write('{"file": "a.p')
    assert fuse(inputs / "ir", inputs / "vis", out).exit_code == 0
    assert (out / "a.png").read_bytes() == fused
    assert json.loads((out / MANIFEST).read_text().splitlines()[-1])["file"] == "a.png"
    # ... but not once it was edited: the recorded hash no longer matches
    (out / "a.png").write_bytes(fused + b"edited")
    result = fuse(inputs / "ir", inputs / "vis", out, "--save-float")
    assert result.exit_code == 2 and "not written by ivifmodels fuse" in result.output
    assert not (out / "a.npy").exists()


def test_broken_and_looping_symlinks_are_reported(fuse, inputs):
    ir = inputs / "ir"
    (ir / "gone.png").symlink_to(inputs / "nowhere.png")
    os.symlink("loop2.png", ir / "loop1.png")
    os.symlink("loop1.png", ir / "loop2.png")
    result = fuse(ir, inputs / "vis", inputs / "out")
    assert result.exit_code == 1, result.output
    assert (
        f"skipped {ir / 'gone.png'}: broken symlink (-> {inputs / 'nowhere.png'})" in result.stderr
    )
    assert f"skipped {ir / 'loop1.png'}: symlink loop" in result.stderr
    assert f"skipped {ir / 'loop2.png'}: symlink loop" in result.stderr
    assert "cnn: fused 1 pair(s)" in result.stdout and "skipped 3" in result.stdout


def test_full_disk_is_one_error_line_and_leaves_no_output(fuse, inputs, monkeypatch):
    """A disk that fills up while an output is flushed: ``error: <file>: no space left ...``,
    exit 1, no traceback, no temporary file and no output under its final name."""

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("ivifdata.atomic.os.fsync", full)
    out = inputs / "out"
    result = fuse(inputs / "ir", inputs / "vis", out)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert errors[0].startswith(f"error: {out / 'a.png'}: no space left on the device (")
    assert "MB free)" in errors[0]
    assert not out.exists() or [p.name for p in out.iterdir()] in ([], [MANIFEST])
