"""``ivifbench report``: aggregated values, marks (ties, direction), captions, formats, plots."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from ivifbench import __version__, compute
from ivifbench.cli import main
from ivifbench.eval import read_table
from ivifbench.report import BEST, SECOND, format_number, rank_marks
from ivifdata.imageio import read_image

CDDFUSE_METRICS = ["EN", "SD", "SF", "AG", "MI", "VIF", "Qabf", "SSIM", "SCD", "CC", "PSNR", "MSE"]


def run_report(*args: str):
    return CliRunner().invoke(main, ["report", *args])


def test_summary_values_are_the_statistics_of_compute(per_image: Path, tmp_path: Path) -> None:
    result = run_report(str(per_image), "-o", str(tmp_path), "--format", "csv")
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "summary.csv", keep_default_na=False, na_values=[""])
    table = read_table(per_image)
    direct = {}  # (dataset, method) -> list of dicts straight from compute
    for _, row in table.iterrows():
        files = [per_image.parent / row[c] for c in ("fused_file", "ir_file", "vis_file")]
        values = compute(*(read_image(f) for f in files))
        direct.setdefault((row["dataset"], row["method"]), []).append(values)
        direct.setdefault(("all", row["method"]), []).append(values)
    assert len(summary) == len(direct) == 5 + 2 + 6  # msrs, roadscene, all (lap in both)
    units = {
        "EN": " [bits]",
        "MI": " [nats]",
        "PSNR": " [dB]",
        "MSE": " [(0-255)^2]",
        "SD": " [0-255]",
        "SF": " [0-255]",
        "AG": " [0-255/pixel]",
    }
    for _, row in summary.iterrows():
        images = direct[(row["dataset"], row["method"])]
        assert row["n"] == len(images)
        assert row["convention"] == "cddfuse"
        for metric in CDDFUSE_METRICS:
            values = np.array([v[metric] for v in images])
            unit = units.get(metric, "")
            assert row[f"{metric} mean{unit}"] == pytest.approx(values.mean(), rel=1e-13)
            assert row[f"{metric} std{unit}"] == pytest.approx(values.std(ddof=1), rel=1e-12)
    lap_all = summary[(summary["dataset"] == "all") & (summary["method"] == "lap")].iloc[0]
    assert lap_all["n"] == 4  # pooled over both datasets


def test_rank_marks_dense_on_printed_values() -> None:
    def marks(values, direction, decimals=3):
        return list(rank_marks(pd.Series(values, dtype=float), direction, decimals))

    assert marks([1.0, 2.0, 2.0, 0.5], "higher") == [SECOND, BEST, BEST, ""]
    assert marks([1.0, 2.0, 1.0, 3.0], "lower") == [BEST, SECOND, BEST, ""]
    # 0.12341 and 0.12344 both print as 0.123: a tie
    assert marks([0.12341, 0.12344, 0.1], "higher") == [BEST, BEST, SECOND]
    assert marks([0.12341, 0.12344, 0.1], "higher", decimals=5) == [SECOND, BEST, ""]
    assert marks([5.0, 5.0, 5.0], "lower") == [BEST, BEST, BEST]
    assert marks([np.nan, 1.0, 2.0], "lower") == ["", BEST, SECOND]
    assert marks([np.nan, 1.0], "higher") == ["", ""]  # one value: nothing to compare
    assert marks([-0.0001, 0.0002, -0.3], "higher") == [BEST, BEST, SECOND]  # both print 0.000
    assert format_number(-0.0001, 3) == "0.000" and format_number(-0.3, 3, "$-$") == "$-$0.300"


def hand_table(path: Path, values: dict[str, dict[str, list[float]]], dataset="d") -> Path:
    """A per-image table with given EN (higher) and MSE (lower) values per method."""
    rows = []
    for method, metrics in values.items():
        for i, (en, mse) in enumerate(zip(metrics["EN"], metrics["MSE"], strict=True)):
            rows.append(
                {
                    "dataset": dataset,
                    "method": method,
                    "image": f"im{i}",
                    "EN": en,
                    "MSE": mse,
                    "convention": "cddfuse",
                    "version": __version__,
                    "fused_file": "",
                    "ir_file": "",
                    "vis_file": "",
                }
            )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def cell(markdown: str, method: str, column: int) -> str:
    """The ``column``-th metric cell (0 = EN) of ``method``'s row in a Markdown table."""
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 3 and cells[1] == method:
            return cells[3 + column]
    raise KeyError(method)


def test_marks_respect_direction_and_ties_in_every_format(tmp_path: Path) -> None:
    table = hand_table(
        tmp_path / "t.csv",
        {
            "A": {"EN": [7.0, 7.2], "MSE": [100.0, 300.0]},  # EN 7.1 (tie best), MSE 200 (worst)
            "B": {"EN": [7.1, 7.1], "MSE": [50.0, 50.0]},  # EN 7.1 (tie best), MSE 50 (best)
            "C": {"EN": [6.0, 7.0], "MSE": [100.0, 120.0]},  # EN 6.5 (second), MSE 110 (second)
            "D": {"EN": [5.0, 5.0], "MSE": [110.0, 110.0]},  # EN 5 (none), MSE 110 (second, tie)
        },
    )
    result = run_report(str(table), "-o", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    md = (tmp_path / "r/summary.md").read_text()
    assert cell(md, "A", 0) == "**7.100 ± 0.141**"
    assert cell(md, "B", 0) == "**7.100 ± 0.000**"
    assert cell(md, "C", 0) == "<u>6.500 ± 0.707</u>"
    assert cell(md, "D", 0) == "5.000 ± 0.000"
    assert cell(md, "A", 1) == "200.000 ± 141.421"
    assert cell(md, "B", 1) == "**50.000 ± 0.000**"
    assert cell(md, "C", 1) == "<u>110.000 ± 14.142</u>"
    assert cell(md, "D", 1) == "<u>110.000 ± 0.000</u>"
    tex = (tmp_path / "r/summary.tex").read_text()
    assert r"A & 2 & \textbf{7.100 $\pm$ 0.141} & 200.000 $\pm$ 141.421 \\" in tex
    assert r"C & 2 & \underline{6.500 $\pm$ 0.707} & \underline{110.000 $\pm$ 14.142} \\" in tex
    sidecar = json.loads((tmp_path / "r/summary.json").read_text())
    assert sidecar["marks"]["d"]["MSE"] == {"best": ["B"], "second": ["C", "D"]}
    assert sidecar["marks"]["d"]["EN"] == {"best": ["A", "B"], "second": ["C"]}


def test_caption_and_sidecar_state_convention_units_and_counts(
    eval_data, evaluate, tmp_path: Path
) -> None:
    out = tmp_path / "tang.csv"
    evaluate(eval_data, "roadscene", out, convention="tang", metrics=["EN", "MI", "Qabf", "MSE"])
    result = run_report(str(out), "-o", str(tmp_path / "r"))
    assert result.exit_code == 0, result.output
    tex = (tmp_path / "r/summary.tex").read_text()
    caption = next(line for line in tex.splitlines() if line.startswith(r"\caption{"))
    for text in (
        r"convention \texttt{tang}",
        "MI in bits",
        "EN in bits",
        "MSE in [0,1]$^2$",
        "images per method: roadscene 2",
        r"\textbf{bold}",
        r"\underline{underlined}",
    ):
        assert text in caption
    assert r"MI (bits) $\uparrow$" in tex and r"MSE ([0,1]$^2$) $\downarrow$" in tex
    md = (tmp_path / "r/summary.md").read_text()
    assert "convention `tang`" in md and "MI in bits" in md and "| MI (bits) ↑ |" in md
    header = (tmp_path / "r/summary.csv").read_text().splitlines()[0]
    assert "MI mean [bits]" in header and header.endswith(",convention")
    sidecar = json.loads((tmp_path / "r/summary.json").read_text())
    assert sidecar["convention"] == "tang"
    assert sidecar["metrics"]["MI"] == {"direction": "higher", "unit": "bits, sum of 2"}
    assert sidecar["metrics"]["MSE"]["direction"] == "lower"
    assert sidecar["images"] == {"roadscene": {"lap": 2, "mean": 2}}
    assert sidecar["versions"] == [__version__]


def test_latex_compiles_with_pdflatex(per_image: Path, tmp_path: Path) -> None:
    if shutil.which("pdflatex") is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex is missing on CI (.ci/run installs texlive-latex-base)")
        pytest.skip("pdflatex not installed (apt-get install texlive-latex-base)")
    # method and dataset names with LaTeX special characters must be escaped
    table = read_table(per_image)
    table["method"] = table["method"].str.replace("CNN", "CNN_v2 & 50%")
    odd = tmp_path / "odd.csv"
    table.to_csv(odd, index=False)
    result = run_report(str(odd), "-o", str(tmp_path), "--format", "latex")
    assert result.exit_code == 0, result.output
    (tmp_path / "paper.tex").write_text(
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
        "\\input{summary.tex}\n\\end{document}\n"
    )
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "paper.pdf").stat().st_size > 1000
    tex = (tmp_path / "summary.tex").read_text()
    assert r"CNN\_v2 \& 50\%" in tex
    assert all(rule in tex for rule in (r"\toprule", r"\midrule", r"\bottomrule"))


def test_methods_and_metrics_select_and_order(per_image: Path, tmp_path: Path) -> None:
    result = run_report(
        str(per_image),
        "-o",
        str(tmp_path),
        "--format",
        "csv",
        "--methods",
        "lap,CNN",
        "--metrics",
        "Qabf,EN",
    )
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary["method"]) == ["lap", "CNN", "lap", "lap", "CNN"]
    assert list(summary["dataset"]) == ["msrs", "msrs", "roadscene", "all", "all"]
    assert list(summary.columns) == [
        "dataset",
        "method",
        "n",
        "Qabf mean",
        "Qabf std",
        "EN mean [bits]",
        "EN std [bits]",
        "convention",
    ]


def test_several_tables_are_combined(eval_data, evaluate, per_image: Path, tmp_path: Path) -> None:
    second = tmp_path / "more.csv"
    evaluate(eval_data, "roadscene", second)
    table = read_table(per_image)
    first = tmp_path / "msrs.csv"
    table[table["dataset"] == "msrs"].to_csv(first, index=False)
    combined = run_report(str(first), str(second), "-o", str(tmp_path / "a"), "--format", "csv")
    single = run_report(str(per_image), "-o", str(tmp_path / "b"), "--format", "csv")
    assert combined.exit_code == single.exit_code == 0
    assert (tmp_path / "a/summary.csv").read_text() == (tmp_path / "b/summary.csv").read_text()


def test_usage_errors_exit_2(eval_data, evaluate, per_image: Path, tmp_path: Path) -> None:
    tang = tmp_path / "tang.csv"
    evaluate(eval_data, "roadscene", tang, convention="tang", metrics=["EN"])
    not_a_table = tmp_path / "x.csv"
    not_a_table.write_text("a,b\n1,2\n")
    broken_value = tmp_path / "broken.csv"
    broken_value.write_text(per_image.read_text().replace(",cddfuse,", "xx,cddfuse,", 1))
    out = str(tmp_path / "out")
    cases = {
        "mixed conventions": [str(per_image), str(tang), "-o", out],
        "same table twice": [str(per_image), str(per_image), "-o", out],
        "unknown method": [str(per_image), "-o", out, "--methods", "CNN,nope"],
        "unknown metric": [str(per_image), "-o", out, "--metrics", "Nabf"],
        "unknown format": [str(per_image), "-o", out, "--format", "csv,pdf"],
        "not an eval table": [str(not_a_table), "-o", out],
        "bad number": [str(broken_value), "-o", out],
        "missing file": [str(tmp_path / "none.csv"), "-o", out],
        "no -o": [str(per_image)],
    }
    for name, args in cases.items():
        result = run_report(*args)
        assert result.exit_code == 2, (name, result.output)
        assert "Traceback" not in result.output
    assert not Path(out).exists()


def test_plots_are_written(per_image: Path, tmp_path: Path) -> None:
    result = run_report(
        str(per_image),
        "-o",
        str(tmp_path),
        "--format",
        "md",
        "--plots",
        "--metrics",
        "EN,MSE",
        "--images",
        "00055D,00004N",
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == ["box_EN.png", "box_MSE.png", "grid_msrs.png"]  # roadscene: no such image
    grid = np.asarray(Image.open(tmp_path / "grid_msrs.png").convert("L"))
    height, width = grid.shape
    # IR, VIS and 5 methods: 7 panels per image wrap into rows of 5, so 2 images take 4 rows
    assert width / height == pytest.approx(5 * 2.2 / (4 * 1.95 + 0.5), rel=0.05)
    assert grid.std() > 10  # images were drawn, not blank panels
    box = np.asarray(Image.open(tmp_path / "box_MSE.png").convert("L"))
    assert box.shape[1] > box.shape[0] and not math.isclose(box.std(), 0.0)


def test_nan_values_are_left_out_and_counted(tmp_path: Path) -> None:
    table = hand_table(
        tmp_path / "t.csv",
        {
            "A": {"EN": [7.0, float("nan")], "MSE": [float("nan"), float("nan")]},
            "B": {"EN": [6.0, 6.5], "MSE": [10.0, 20.0]},
        },
    )
    result = run_report(str(table), "-o", str(tmp_path / "r"), "--format", "md,csv")
    assert result.exit_code == 0, result.output
    md = (tmp_path / "r/summary.md").read_text()
    assert cell(md, "A", 0) == "**7.000**"  # one value left: no std
    assert cell(md, "A", 1) == "\u2013"  # no value at all
    assert cell(md, "B", 1) == "15.000 ± 7.071"  # the only MSE mean: not marked
    sidecar = json.loads((tmp_path / "r/summary.json").read_text())
    assert sidecar["nan_values_left_out"] == {"d/A/EN": 1, "d/A/MSE": 2}
