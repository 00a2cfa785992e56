"""The rules every package shares: atomic writes, image files by stem, CLI conventions."""

import os

import click
import pytest
from click.testing import CliRunner

from ivifdata.atomic import atomic_path, partial_path, write_json_atomic, write_text_atomic
from ivifdata.cli_common import VERSION, command_group, fail, usable_cpus, workers_option
from ivifdata.files import IMAGE_SUFFIXES, images_by_stem


def test_atomic_write_replaces_only_when_complete(tmp_path):
    target = tmp_path / "table.csv"
    write_text_atomic(target, "old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]  # no temp file left
    write_json_atomic(target, {"b": 1, "a": [1, 2]})
    assert target.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert partial_path(target).name == f".table.csv.{os.getpid()}.partial"


def test_images_by_stem_rules(tmp_path):
    for name in ("a.png", "b.JPG", "c.png", "c.bmp", ".hidden.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "gone.png").symlink_to(tmp_path / "missing.png")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    found = images_by_stem(tmp_path)
    assert found.by_stem == {"a": tmp_path / "a.png", "b": tmp_path / "b.JPG"}
    assert found.ambiguous == {"c": [tmp_path / "c.bmp", tmp_path / "c.png"]}
    assert {p.name: r.split()[0] for p, r in found.other.items()} == {
        "gone.png": "broken",
        "loop.png": "symlink",
        "notes.txt": "extension",
        "sub": "a",
    }
    assert {".png", ".jpg", ".tif", ".bmp"} <= IMAGE_SUFFIXES


@command_group("demo")
def demo() -> None:
    """A demo group."""


@demo.command("run", epilog="Example: demo run -n 2")
@click.option("-n", type=int, required=True)
@workers_option()
def run(n: int, workers: int) -> None:
    if n < 0:
        fail(f"-n must be >= 0, got {n}")
    click.echo(f"{n} {workers}")


def test_cli_conventions_usage_errors_and_version():
    runner = CliRunner()
    assert runner.invoke(demo, ["--version"]).output == f"demo, version {VERSION}\n"
    ok = runner.invoke(demo, ["run", "-n", "1"])
    assert ok.exit_code == 0 and ok.output == f"1 {usable_cpus()}\n"
    for args, message in [
        (["run"], "error: Missing option '-n'"),
        (["run", "-n", "x"], "error: Invalid value for '-n'"),
        (["run", "-n", "-1"], "error: -n must be >= 0, got -1"),
        (["nope"], "error: No such command 'nope'"),
    ]:
        result = runner.invoke(demo, args)
        assert result.exit_code == 2, args
        assert result.output.startswith(message) and "Traceback" not in result.output, args
    assert "Example: demo run -n 2" in runner.invoke(demo, ["run", "--help"]).output
