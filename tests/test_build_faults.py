"""Faults and crafted input around the shards: edited files on resume, crafted PNGs and
indexes, a full disk, two builds at once, damaged shards in the loader, progress output."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

import ivifdata.shardformat
from ivifdata.build import build
from ivifdata.cli import main
from ivifdata.folderlock import locked
from ivifdata.loader import PairStream
from ivifdata.progress import Reporter
from ivifdata.recipe import load_recipe
from ivifdata.shardformat import (
    INDEX_FILE,
    LOCK_FILE,
    RECORD_FILE,
    WORK_DIR,
    ShardFormatError,
    decode_png,
)
from ivifdata.tarshards import iter_samples, write_shard
from ivifdata.verify import verify

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "manifests" / "sample.yaml"


@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> Path:
    """The sample's bank alone (6 shards of 8 patches, no pair shards): quick to verify."""
    out = tmp_path_factory.mktemp("bank") / "out"
    build(load_recipe(SAMPLE, ["shards.samples_per_shard=8"]), out)
    return out


def _copy(small_build: Path, dest: Path) -> Path:
    shutil.copytree(small_build, dest)
    return dest


def _png(width: int, height: int, depth: int = 8, colour: int = 0, rows: bytes = b"") -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height``; IDAT holds ``rows`` (may be short)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _rewrite_shard(folder: Path, name: str, edit) -> None:
    """Apply ``edit(key, fields)`` to every sample of shard ``name`` and re-record its hashes in
    the index and the build record, so that only the content checks can find the change."""
    path = folder / name
    samples = [(key, list(edit(key, dict(fields)).items())) for key, fields in iter_samples(path)]
    entry = write_shard(path, samples)
    index = json.loads((folder / INDEX_FILE).read_text())
    for item in index["shardlist"]:
        if item["url"] == name:
            item.update(filesize=entry["filesize"], sha256=entry["sha256"])
    _write_index(folder, index)


def _write_index(folder: Path, index: dict) -> None:
    (folder / INDEX_FILE).write_text(json.dumps(index))
    record = json.loads((folder / RECORD_FILE).read_text())
    record["outputs"][INDEX_FILE] = hashlib.sha256((folder / INDEX_FILE).read_bytes()).hexdigest()
    (folder / RECORD_FILE).write_text(json.dumps(record))


@pytest.mark.slow
def test_resume_rewrites_edited_finished_shards_and_stage_files(
    small_build, tmp_path, small_build_args, build_digests, kill_small_build
):
    out = tmp_path / "out"
    kill_small_build(out, 12)  # some bank shards finished
    finished = sorted(out.glob("patches-*.tar"))
    stages = sorted((out / WORK_DIR / "stage").glob("*.stage"))
    assert finished and stages
    for path in (finished[0], stages[0]):
        data = bytearray(path.read_bytes())
        data[-2000] ^= 0x01  # inside the PNG bytes; the size stays the same
        path.write_bytes(bytes(data))
    outcome = build(load_recipe(small_build_args[0], small_build_args[1:]), out)
    assert outcome.state == "resumed"
    assert build_digests(out) == build_digests(small_build)  # nothing edited was adopted
    assert verify(out)[0] == []


def _crafted_copy(small_build: Path, dest: Path, png: bytes) -> Path:
    out = _copy(small_build, dest)
    first = True

    def edit(key: str, fields: dict) -> dict:
        nonlocal first
        if first:
            fields["ir.png"], first = png, False
        return fields

    _rewrite_shard(out, "patches-000000.tar", edit)
    return out


@pytest.mark.parametrize(
    "png, words",
    [
        (_png(30000, 30000, rows=b"\0" * 30001), "a header of 30000x30000, bit depth 8"),
        (_png(128, 128, depth=16, rows=b"\0" * 257 * 128), "128x128, bit depth 16"),
        (_png(128, 128, colour=2, rows=b"\0" * 385 * 128), "colour type 2"),
    ],
)
def test_crafted_pngs_are_refused_from_the_header(bank, tmp_path, monkeypatch, png, words):
    import cv2

    decoded = []
    real = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a: decoded.append(1) or real(*a))
    with pytest.raises(ShardFormatError, match="not decoded"):
        decode_png(png, 128, "x")
    assert decoded == []  # no pixel buffer was allocated for it
    out = _crafted_copy(bank, tmp_path / "crafted", png)
    problems, _ = verify(out)
    assert len(problems) == 1 and "patches-000000.tar: damaged" in problems[0]
    assert "p0000000.ir.png" in problems[0] and words in problems[0]
    cache = tmp_path / "cache"
    with pytest.raises(ShardFormatError, match=r"patches-000000\.tar:p0000000\.ir\.png") as info:
        PairStream(out, 8, cache_dir=cache)
    assert words in str(info.value)
    assert list(cache.iterdir()) == []  # no .partial cache left behind


def test_verify_refuses_an_index_whose_n_disagrees(bank, tmp_path):
    out = _copy(bank, tmp_path / "n")
    index = json.loads((out / INDEX_FILE).read_text())
    index["ivifdata"]["n"] = 47
    _write_index(out, index)
    problems, _ = verify(out)
    assert any("ivifdata.n is 47 but the shardlist counts 48" in p for p in problems)
    index["ivifdata"]["n"] = 47
    index["shardlist"][-1]["nsamples"] = 7  # consistent index, but the shard holds 8
    _write_index(out, index)
    problems, _ = verify(out)
    assert any("8 samples, the index says 7" in p for p in problems)
    assert any("ivifdata.n 47 != n 48 in build.json" in p for p in problems)


@pytest.mark.parametrize("where", ["../elsewhere/patches-000000.tar", "absolute"])
def test_verify_refuses_a_shard_url_outside_the_folder(bank, tmp_path, where):
    out = _copy(bank, tmp_path / "u")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(out / "patches-000000.tar", outside / "patches-000000.tar")
    url = str(outside / "patches-000000.tar") if where == "absolute" else where
    index = json.loads((out / INDEX_FILE).read_text())
    index["shardlist"][0]["url"] = url
    _write_index(out, index)
    problems, _ = verify(out)
    assert any("points outside" in p for p in problems), problems
    result = CliRunner().invoke(main, ["inspect", str(out)])
    assert result.exit_code == 2 and "points outside" in result.output


def _damaged(small_build: Path, dest: Path, how: str) -> Path:
    out = _copy(small_build, dest)
    shard = out / "patches-000001.tar"
    if how == "truncated":
        shard.write_bytes(shard.read_bytes()[:5000])
    elif how == "json not utf-8":
        _rewrite_shard(out, shard.name, lambda k, f: {**f, "json": b"\xff\xfe{"})
    elif how == "no json":
        _rewrite_shard(out, shard.name, lambda k, f: {k2: v for k2, v in f.items() if k2 != "json"})
    return out


@pytest.mark.parametrize(
    "how, words",
    [
        ("truncated", r"patches-000001\.tar"),
        ("json not utf-8", r"patches-000001\.tar:p0000008\.json: not UTF-8 JSON"),
        ("no json", r"patches-000001\.tar:p0000008: no field json"),
    ],
)
def test_loader_errors_name_the_shard_and_field(bank, tmp_path, how, words):
    out = _damaged(bank, tmp_path / "d", how)
    cache = tmp_path / "cache"
    with pytest.raises(ShardFormatError, match=words):
        PairStream(out, 8, cache_dir=cache)
    assert list(cache.glob("*")) == []  # the failed decode left no .partial


@pytest.mark.parametrize("fail_at", [1, 12])  # the first stage file; a bank shard
def test_disk_full_gives_one_error_line_and_no_temp_files(
    small_build, tmp_path, fail_at, monkeypatch, small_build_cli, build_digests
):
    calls = 0
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        if calls >= fail_at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "full"
    args = ["build", "-o", str(out), *small_build_cli]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    error = [line for line in lines if line.startswith("error:")]
    assert len(error) == 1 and str(out) in error[0] and "MB more free space" in error[0]
    assert "Traceback" not in result.output
    assert not list(out.rglob("*.partial")) and not (out / LOCK_FILE).exists()
    monkeypatch.setattr(os, "fsync", real_fsync)  # space freed: the same command resumes
    assert CliRunner().invoke(main, args).exit_code == 0
    assert build_digests(out) == build_digests(small_build)


def test_a_second_build_into_a_locked_folder_exits_2_naming_the_pid(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    with locked(out / LOCK_FILE):  # a build in progress (this process holds the lock)
        result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(out)])
        assert result.exit_code == 2
        assert f"error: {out}: another build is running (pid {os.getpid()})" in result.stderr
        assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # nothing written
    assert not (out / LOCK_FILE).exists()
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(out)])
    assert result.exit_code == 0 and not (out / LOCK_FILE).exists()


def test_a_build_running_in_another_process_is_named(tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    holder = (
        "import sys, time\nfrom ivifdata.folderlock import locked\n"
        "with locked(sys.argv[1]):\n    print('ready', flush=True)\n    time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", holder, str(out / LOCK_FILE)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(out)])
        assert result.exit_code == 2
        assert f"another build is running (pid {child.pid})" in result.stderr
    finally:
        child.kill()
        child.wait()
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(out)])  # lock freed
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_progress_is_plain_lines_off_a_terminal_and_a_bar_with_total_on_one(
    small_build, tmp_path, small_build_cli
):
    out = tmp_path / "p"
    args = ["build", "-o", str(out), *small_build_cli]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    lines = result.stderr.splitlines()
    assert "shards: 6/6" in lines and "pairs: 8/8" in lines
    assert 3 <= sum(line.startswith("shards:") for line in lines) <= 5
    result = CliRunner().invoke(main, ["verify", str(out)])
    assert result.exit_code == 0 and "verify: 14/14" in result.stderr.splitlines()
    assert "\r" not in result.stderr

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    reporter = Reporter(screen)
    for _ in range(6):
        reporter("shards", 1, 6)
    reporter.close()
    assert "0/6 [" in screen.getvalue() and "\r" in screen.getvalue()  # a bar with its total


@pytest.mark.slow
def test_shard_readers_do_not_import_build():
    code = (
        "import sys, ivifdata.verify, ivifdata.inspection, ivifdata.loader;"
        "print(sorted(m for m in ('ivifdata.build', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr
    assert ivifdata.shardformat.__doc__
