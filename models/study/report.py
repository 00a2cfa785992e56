"""The study report: paradigm table, per-image CSV, significance tests, loss curves, grids.

Table: one block per model, one row per paradigm (plus reference rows); each cell is the mean
± sample std (ddof = 1) **over seeds** of the per-seed mean over all test images; best bold,
second underlined within a model block (the rules of :mod:`ivifbench.report`).

Significance: for each metric, model, seed and pair of paradigms, the two-sided Wilcoxon
signed-rank test (``scipy.stats.wilcoxon``) on the per-image differences; the p-values of one
metric are Holm-corrected over all its comparisons (models x seeds x pairs). Why this test:
``docs/study.md``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ivifbench.eval import read_table
from ivifbench.plots import DPI, qualitative_grid, safe_name
from ivifbench.report import (
    RENDERERS,
    STD_DDOF,
    Summary,
    latex_caption,
    mark_table,
    metric_spec,
    write_text_atomic,
)

if TYPE_CHECKING:
    from .run import StudyRunner

#: Decimals printed in the tables.
DECIMALS = 3
#: Index names of the study table (the ivifbench renderers call them Dataset / Method).
INDEX_NAMES = ("Model", "Paradigm")


def per_image(runner: StudyRunner) -> pd.DataFrame:
    """The eval table with ``paradigm``, ``model``, ``seed`` columns and ``table_dir``."""
    table = read_table(runner.outdir / "per_image.csv")
    methods = runner._methods()
    table["paradigm"] = [methods[m]["paradigm"] for m in table["method"]]
    table["model"] = [methods[m]["model"] for m in table["method"]]
    table["seed"] = [methods[m]["seed"] for m in table["method"]]
    table["table_dir"] = str(runner.outdir)
    return table


def row_order(runner: StudyRunner) -> list[tuple[str, str]]:
    """(model, paradigm) rows: models in the file's order, paradigms in the grid's, references
    last."""
    methods = runner._methods().values()
    models = dict.fromkeys([*runner.study.get("models"), *(m["model"] for m in methods)])
    return [
        (model, paradigm)
        for model in models
        for paradigm in dict.fromkeys(m["paradigm"] for m in methods if m["model"] == model)
    ]


def seed_summary(
    table: pd.DataFrame, metrics: list[str], convention: str, order: list[tuple[str, str]]
) -> Summary:
    """Mean ± std over seeds of the per-seed means over images, per (model, paradigm), rows in
    ``order``."""
    rows = table.assign(seed=table["seed"].fillna(-1))
    per_seed = rows.groupby(["model", "paradigm", "seed"], sort=False)[metrics].mean()
    grouped = per_seed.groupby(level=["model", "paradigm"], sort=False)
    stats = grouped.agg(["mean", "count"])
    std = grouped.std(ddof=STD_DDOF)
    for metric in metrics:
        stats[(metric, "std")] = std[metric]
    columns = pd.MultiIndex.from_product([metrics, ["mean", "std", "count"]])
    stats = stats.loc[[row for row in order if row in stats.index], columns]
    stats.index = stats.index.set_names(["dataset", "method"])
    seeds = grouped.size().rename("images").loc[list(stats.index)]
    seeds.index = stats.index
    specs = tuple(metric_spec(m, convention) for m in metrics)
    return Summary(
        convention=convention,
        versions=tuple(sorted(set(table["version"]))),
        metrics=specs,
        stats=stats,
        images=seeds,
        marks=mark_table(stats, specs, DECIMALS),
        decimals=DECIMALS,
        sources=("per_image.csv",),
    )


def _caption(summary: Summary, images: int, latex: bool) -> str:
    pm = r"$\pm$" if latex else "\u00b1"
    head = (
        f"Mean {pm} sample standard deviation over seeds (column n) of the per-seed mean over "
        f"{images} test images, convention {summary.convention}; best in "
    )
    return head + (
        r"\textbf{bold}, second \underline{underlined} (per model)."
        if latex
        else "**bold**, second <u>underlined</u> (per model)."
    )


def render_tables(summary: Summary, images: int) -> dict[str, str]:
    """``table.md``, ``table.tex`` and ``table.csv`` texts (ivifbench renderers, study caption)."""
    markdown = RENDERERS["md"](summary, "tab:study").splitlines()
    markdown[0] = _caption(summary, images, latex=False)
    markdown[2] = markdown[2].replace("| Dataset | Method | n |", "| Model | Paradigm | n |")
    latex = RENDERERS["latex"](summary, "tab:study")
    latex = latex.replace(latex_caption(summary), _caption(summary, images, latex=True))
    latex = latex.replace("Dataset & Method &", " & ".join(INDEX_NAMES) + " &")
    text_csv = RENDERERS["csv"](summary, "tab:study").replace(
        "dataset,method,n,", "model,paradigm,seeds,", 1
    )
    return {"table.md": "\n".join(markdown) + "\n", "table.tex": latex, "table.csv": text_csv}


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (statsmodels ``multipletests``); NaN stays NaN and is
    not counted among the comparisons."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = multipletests(p[finite], method="holm")[1]
    return out


def significance(table: pd.DataFrame, metrics: list[str], alpha: float) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank tests between the paradigms of each model and seed."""
    from scipy.stats import wilcoxon

    trained = table[table["seed"].notna()]
    records = []
    for metric in metrics:
        direction = metric_spec(metric, str(table["convention"].iloc[0])).direction
        for (model, seed), rows in trained.groupby(["model", "seed"], sort=False):
            wide = rows.pivot_table(
                index=["dataset", "image"], columns="paradigm", values=metric, sort=False
            ).dropna()
            for a, b in itertools.combinations(list(dict.fromkeys(rows["paradigm"])), 2):
                d = (wide[a] - wide[b]).to_numpy()
                if len(d) == 0 or not np.any(d):
                    statistic, p = np.nan, 1.0
                else:
                    result = wilcoxon(wide[a], wide[b], alternative="two-sided")
                    statistic, p = float(result.statistic), float(result.pvalue)
                records.append(
                    {
                        "metric": metric,
                        "model": model,
                        "seed": int(seed),
                        "a": a,
                        "b": b,
                        "images": len(d),
                        "median_a_minus_b": float(np.median(d)) if len(d) else np.nan,
                        "statistic": statistic,
                        "p": p,
                        "direction": direction,
                    }
                )
    frame = pd.DataFrame(records)
    if frame.empty:
        return frame
    frame["p_holm"] = frame.groupby("metric")["p"].transform(lambda s: holm(s.to_numpy()))
    better = np.where(
        (frame["median_a_minus_b"] > 0) == (frame["direction"] == "higher"), frame["a"], frame["b"]
    )
    frame["verdict"] = np.where(
        frame["p_holm"] < alpha, np.char.add(better.astype(str), " better"), "n.s."
    )
    return frame


def significance_markdown(frame: pd.DataFrame, alpha: float) -> str:
    """Per metric: how many comparisons are significant after Holm, and the smallest p."""
    if frame.empty:
        return "No pair of paradigms to compare (one paradigm per model).\n"
    n = int(frame["images"].max())
    floor = 2.0 / 2**n if n else 1.0
    lines = [
        f"Two-sided Wilcoxon signed-rank test over {n} paired test images between the paradigms "
        f"of each model and seed; Holm-corrected per metric; alpha = {alpha:g}. With {n} images "
        f"the smallest possible exact p-value is {floor:.3g}"
        + (" (so nothing can be significant at this size)." if floor >= alpha else "."),
        "",
        "| Metric | comparisons | significant | smallest Holm p | verdicts |",
        "|:---|---:|---:|---:|:---|",
    ]
    for metric, rows in frame.groupby("metric", sort=False):
        verdicts = sorted({v for v in rows["verdict"] if v != "n.s."})
        lines.append(
            f"| {metric} | {len(rows)} | {int((rows['verdict'] != 'n.s.').sum())} | "
            f"{rows['p_holm'].min():.3g} | {', '.join(verdicts) or '-'} |"
        )
    return "\n".join(lines) + "\n"


def loss_curves(runner: StudyRunner, model: str, path: Path) -> Path:
    """One PNG per model: total training loss per step, one line per paradigm and seed."""
    figure = Figure(figsize=(6.0, 3.6))
    ax = figure.subplots()
    colours = {}
    for cell in runner.study.cells:
        if cell.model != model:
            continue
        log = runner.outdir / runner.state["cells"][cell.id]["dir"] / "log.jsonl"
        steps = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        steps = [r for r in steps if r["kind"] == "step"]
        x = np.array([r["step"] for r in steps])
        y = np.array([r["total"] for r in steps])
        window = max(1, len(y) // 20)
        smooth = np.convolve(y, np.ones(window) / window, mode="valid")
        label = cell.variant.label if cell.variant.label not in colours else None
        line = ax.plot(
            x[window - 1 :], smooth, label=label, color=colours.get(cell.variant.label), lw=1.2
        )[0]
        colours.setdefault(cell.variant.label, line.get_color())
    ax.set_xlabel("step")
    ax.set_ylabel("total loss (running mean)")
    ax.set_title(f"{model}: training loss per paradigm")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return path


def write_study_report(runner: StudyRunner, outdir: Path) -> list[Path]:
    """Write every report file into ``outdir``; return their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    ev = runner.study.get("evaluation")
    metrics = runner.metrics()
    table = per_image(runner)
    summary = seed_summary(table, metrics, ev["convention"], row_order(runner))
    images = table.groupby("method").size().max()
    written = []
    for name, text in render_tables(summary, int(images)).items():
        write_text_atomic(outdir / name, text)
        written.append(outdir / name)
    columns = ["dataset", "model", "paradigm", "seed", "method", "image", *metrics]
    write_text_atomic(outdir / "per_image.csv", table[columns].to_csv(index=False))
    written.append(outdir / "per_image.csv")
    tests = significance(table, metrics, ev["alpha"])
    write_text_atomic(outdir / "significance.csv", tests.to_csv(index=False))
    write_text_atomic(outdir / "significance.md", significance_markdown(tests, ev["alpha"]))
    written += [outdir / "significance.csv", outdir / "significance.md"]
    models = list(dict.fromkeys(c.model for c in runner.study.cells))
    for model in models:
        written.append(loss_curves(runner, model, outdir / f"curves_{safe_name(model)}.png"))
    seed = runner.study.get("seeds")[0]
    for dataset in runner.plan.datasets:
        names = sorted(set(table.loc[table["dataset"] == dataset, "image"]))
        shown = names[: ev["grid_images"]]
        for model in models:
            methods = [c.method for c in runner.study.cells if c.model == model and c.seed == seed]
            methods += [m for m in dict.fromkeys(table["method"]) if m == f"released.{model}"]
            path = outdir / f"grid_{safe_name(dataset)}_{safe_name(model)}.png"
            written.append(qualitative_grid(table, dataset, shown, methods, path))
    return written
