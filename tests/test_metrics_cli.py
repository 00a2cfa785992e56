"""``ivifbench metrics`` and ``ivifbench list-metrics`` through click's CliRunner."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivifbench import METRICS, compute
from ivifbench.cli import main

TRIPLES = Path(__file__).resolve().parent / "data" / "triples"


def triple_args(name: str) -> list[str]:
    folder = TRIPLES / name
    return [
        "--ir", str(folder / "ir.png"),
        "--vis", str(folder / "vis.png"),
        "--fused", str(folder / "fused.png"),
    ]  # fmt: skip


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_group_registers_the_commands() -> None:
    assert {"metrics", "list-metrics"} <= set(main.commands)
    assert run("--version").output.strip().endswith("0.1.0")


def test_metrics_json_matches_the_api() -> None:
    args = triple_args("tno_Marne_15_mean")
    result = run("metrics", *args, "--convention", "tang", "--metrics", "EN,MI,VIF,Qabf", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["convention"] == "tang"
    folder = TRIPLES / "tno_Marne_15_mean"
    expected = compute(
        folder / "fused.png", folder / "ir.png", folder / "vis.png", metrics=list(document["metrics"]),
        convention="tang",
    )  # fmt: skip
    assert document["metrics"] == expected
    assert document["units"]["MI"].startswith("bits")


def test_metrics_json_writes_nan_as_null_and_warns_on_stderr() -> None:
    result = run(
        "metrics", *triple_args("roadscene_FLIR_00006_const128"), "--metrics", "EN,CC", "--json"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["metrics"] == {"EN": 0.0, "CC": None}
    assert "NaN" not in result.stdout
    assert result.stderr.startswith("warning: CC (cddfuse) is nan")


def test_metrics_text_output_lists_values_and_units() -> None:
    result = run("metrics", *triple_args("msrs_00004N_lap"), "--metrics", "MI,Qabf")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["MI", "Qabf"]
    assert lines[0].endswith("nats, sum of 2")
    assert math.isclose(float(lines[1].split()[1]), 0.511577498294624, rel_tol=1e-11)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--metrics", "EN,nope"], "unknown metric 'nope'"),
        (["--convention", "matlab"], "unknown 'matlab'"),
        (["--metrics", "RMSE"], "not available under convention 'cddfuse'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(extra: list[str], message: str) -> None:
    result = run("metrics", *triple_args("msrs_00004N_lap"), *extra)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_file_exits_2_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "fused.png"
    bad.write_bytes(b"")
    args = triple_args("msrs_00004N_lap")
    args[args.index("--fused") + 1] = str(bad)
    result = run("metrics", *args)
    assert result.exit_code == 2
    assert result.stderr == f"error: fused image {bad}: empty file (0 bytes)\n"


def test_list_metrics_text_and_json() -> None:
    result = run("list-metrics")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert names == list(METRICS)
    mi_line = next(line for line in result.stdout.splitlines() if line.startswith("MI "))
    assert "tang*: bits" in mi_line and "cddfuse*: nats" in mi_line
    table = json.loads(run("list-metrics", "--json").stdout)
    assert table["Qcv"]["direction"] == "lower"
    assert table["PSNR"]["units"]["tang"] != table["PSNR"]["units"]["cddfuse"]
    assert table["VIF"]["default_in"] == ["cddfuse", "tang"]
