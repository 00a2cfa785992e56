"""``ivifbench report``: the tables IVIF papers print, from one or more per-image tables.

Aggregation: for each dataset and method, the mean and the *sample* standard deviation
(ddof = 1, NaN for a single image) over images of every metric, NaN values left out; plus an
``all`` block pooling the images of every dataset (only when there are several datasets).

Marking (per dataset block and metric, over the methods with a value): means are rounded to the
printed number of decimals, and the ranking is *dense* on those rounded values in the metric's
direction: every method with the best printed value is bold, every method with the next printed
value is underlined. So tied methods share a mark, a tie for best still gives the next value the
underline, and a block where all methods print the same value has no underline. A block with a
single method is not marked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ivifbench.conventions import metric_unit
from ivifbench.errors import MetricInputError
from ivifbench.eval import ID_COLUMNS, META_COLUMNS, read_table, table_metrics
from ivifbench.registry import METRICS
from ivifdata.atomic import write_text_atomic

#: Name of the block that pools all datasets.
ALL_DATASETS = "all"
#: Delta degrees of freedom of the reported standard deviation (sample standard deviation).
STD_DDOF = 1
#: Output formats and the file each one writes in OUTDIR.
FORMAT_FILES = {"csv": "summary.csv", "latex": "summary.tex", "md": "summary.md"}
#: Sidecar with the table's metadata (always written).
SIDECAR_FILE = "summary.json"
#: Mark names.
BEST, SECOND = "best", "second"


class ReportInputError(ValueError):
    """The per-image tables cannot be reported together (message names the file/column)."""


@dataclass(frozen=True)
class MetricSpec:
    """A reported metric: name, ``"higher"`` or ``"lower"`` is better, unit ('' if none)."""

    name: str
    direction: str
    unit: str

    @property
    def short_unit(self) -> str:
        """Unit for headers: the part before the first ', '; '' for unitless metrics."""
        head = self.unit.split(", ")[0].strip()
        return "" if head.startswith("unitless") else head

    @property
    def arrow(self) -> str:
        """Unicode arrow of the direction."""
        return "\u2191" if self.direction == "higher" else "\u2193"


@dataclass(frozen=True)
class Summary:
    """Aggregated statistics and marks, ready to render.

    ``stats``: index (dataset, method), columns (metric, stat) with stat in mean, std, count.
    ``images``: images per (dataset, method). ``marks``: same index, one column per metric,
    values ``"best"``, ``"second"`` or ``""``. ``splits``: dataset -> test split names of its
    rows (``eval --split``), empty when none was given.
    """

    convention: str
    versions: tuple[str, ...]
    metrics: tuple[MetricSpec, ...]
    stats: pd.DataFrame
    images: pd.Series
    marks: pd.DataFrame
    decimals: int
    sources: tuple[str, ...]
    splits: dict[str, tuple[str, ...]] = field(default_factory=dict)


def metric_spec(name: str, convention: str) -> MetricSpec:
    """Direction and unit of ``name`` under ``convention`` from the metric registry."""
    if name not in METRICS:
        raise ReportInputError(f"column {name!r} is not a known metric ({', '.join(METRICS)})")
    try:
        unit = metric_unit(name, convention)
    except (KeyError, MetricInputError):
        raise ReportInputError(f"metric {name!r} does not exist under {convention!r}") from None
    return MetricSpec(name, METRICS[name].direction, unit)


def load_tables(paths: Sequence[Path]) -> pd.DataFrame:
    """Concatenate per-image tables; add ``table_dir`` (to resolve the file columns).

    Raises :class:`ReportInputError` when a file is not an eval table, the tables use different
    conventions, or an image appears twice. Metrics missing from one table are NaN there.
    """
    frames = []
    for path in paths:
        try:
            frame = read_table(path)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise ReportInputError(f"{path}: cannot read as CSV ({exc})") from None
        missing = [c for c in (*ID_COLUMNS, *META_COLUMNS) if c not in frame.columns]
        if missing:
            raise ReportInputError(
                f"{path}: not a per-image table from `ivifbench eval` "
                f"(missing columns {', '.join(missing)})"
            )
        frames.append(frame.assign(table_dir=str(path.parent)))
    table = pd.concat(frames, ignore_index=True)
    conventions = sorted(set(table["convention"]))
    if len(conventions) != 1:
        raise ReportInputError(
            f"the tables mix conventions ({', '.join(conventions)}); values of different "
            "conventions are not comparable, report them separately"
        )
    duplicated = table.duplicated(list(ID_COLUMNS), keep=False)
    if duplicated.any():
        first = table.loc[duplicated, list(ID_COLUMNS)].iloc[0]
        raise ReportInputError(
            f"image {'/'.join(first)} (dataset/method/image) appears more than once "
            f"({int(duplicated.sum())} duplicated rows); pass each table once"
        )
    return table


def select(
    table: pd.DataFrame, metrics: Sequence[str] | None, methods: Sequence[str] | None
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Restrict to ``methods`` (in that order) and pick the metric columns.

    Defaults: every metric column, every method in order of first appearance. Raises
    :class:`ReportInputError` naming unknown metrics or methods.
    """
    available_metrics = [m for m in table_metrics(table) if m != "table_dir"]
    chosen_metrics = _choose("metric", metrics, available_metrics)
    chosen_methods = _choose("method", methods, list(dict.fromkeys(table["method"])))
    chosen = table[table["method"].isin(chosen_methods)]
    return chosen, chosen_metrics, chosen_methods


def _choose(kind: str, requested: list[str] | None, available: list[str]) -> list[str]:
    """``requested`` (all of ``available`` when None); unknown names raise ReportInputError."""
    if requested is None:
        return available
    unknown = [name for name in requested if name not in available]
    if unknown:
        raise ReportInputError(
            f"{kind}(s) {', '.join(unknown)} not in the tables (they have {', '.join(available)})"
        )
    return list(requested)


def aggregate(
    table: pd.DataFrame, metrics: Sequence[str], methods: Sequence[str]
) -> tuple[pd.DataFrame, pd.Series]:
    """Mean, sample std and count of non-NaN values per (dataset, method), plus ``all``.

    Returns (stats with columns (metric, stat), images per (dataset, method)). Datasets keep
    their order of first appearance; methods follow ``methods``.
    """
    datasets = list(dict.fromkeys(table["dataset"]))
    blocks = [(d, table[table["dataset"] == d]) for d in datasets]
    if len(datasets) > 1:
        blocks.append((ALL_DATASETS, table))
    stats_parts, image_parts = [], []
    for dataset, rows in blocks:
        grouped = rows.groupby("method", sort=False)[list(metrics)]
        stats = grouped.agg(["mean", "count"])
        std = grouped.std(ddof=STD_DDOF)
        for metric in metrics:
            stats[(metric, "std")] = std[metric]
        present = [m for m in methods if m in stats.index]
        stats = stats.loc[present]
        stats.index = pd.MultiIndex.from_product([[dataset], present], names=["dataset", "method"])
        stats_parts.append(stats)
        images = rows.groupby("method", sort=False).size().loc[present]
        images.index = stats.index
        image_parts.append(images)
    stats = pd.concat(stats_parts)
    columns = pd.MultiIndex.from_product([list(metrics), ["mean", "std", "count"]])
    return stats[columns], pd.concat(image_parts).rename("images")


def rank_marks(means: pd.Series, direction: str, decimals: int) -> pd.Series:
    """Dense ranking of the means as printed (``f"{mean:.{decimals}f}"``): ``best``,
    ``second`` or ``""`` per entry.

    NaN means are never marked; fewer than two non-NaN means give no marks.
    """
    marks = pd.Series("", index=means.index, dtype=object)
    printed = means.dropna().map(lambda value: float(f"{value:.{decimals}f}"))
    if len(printed) < 2:
        return marks
    distinct = sorted(set(printed), reverse=direction == "higher")
    marks[printed.index[printed == distinct[0]]] = BEST
    if len(distinct) > 1:
        marks[printed.index[printed == distinct[1]]] = SECOND
    return marks


def mark_table(stats: pd.DataFrame, metrics: Sequence[MetricSpec], decimals: int) -> pd.DataFrame:
    """Marks of every metric, ranked within each dataset block."""
    marks = pd.DataFrame("", index=stats.index, columns=[m.name for m in metrics], dtype=object)
    for dataset in stats.index.get_level_values("dataset").unique():
        block = stats.index.get_level_values("dataset") == dataset
        for metric in metrics:
            means = stats.loc[block, (metric.name, "mean")]
            marks.loc[block, metric.name] = rank_marks(means, metric.direction, decimals)
    return marks


def summarise(
    table: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    decimals: int = 3,
    sources: Sequence[str] = (),
) -> Summary:
    """Select, aggregate and mark: everything the renderers need."""
    chosen, metric_names, method_names = select(table, metrics, methods)
    convention = str(chosen["convention"].iloc[0])
    specs = tuple(metric_spec(name, convention) for name in metric_names)
    stats, images = aggregate(chosen, metric_names, method_names)
    return Summary(
        convention=convention,
        versions=tuple(sorted(set(chosen["version"]))),
        metrics=specs,
        stats=stats,
        images=images,
        marks=mark_table(stats, specs, decimals),
        decimals=decimals,
        sources=tuple(sources),
        splits=table_splits(chosen),
    )


def table_splits(table: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Dataset -> sorted non-empty split names of its rows (datasets without a split left out)."""
    splits = {}
    for dataset, names in table.groupby("dataset", sort=False)["split"]:
        named = tuple(sorted(set(names) - {""}))
        if named:
            splits[str(dataset)] = named
    return splits


def split_note(summary: Summary) -> str:
    """'Test splits: msrs msrs-test, tno tno-42.' (``eval --split``); '' when none was given."""
    if not summary.splits:
        return ""
    parts = ", ".join(f"{d} {'+'.join(names)}" for d, names in summary.splits.items())
    return f"Test split{'s' if len(summary.splits) > 1 else ''}: {parts}."


def format_number(value: float, decimals: int, minus: str = "-") -> str:
    """Fixed-point text of ``value`` with ``minus`` as the sign of negatives; '' for NaN."""
    if np.isnan(value):
        return ""
    text = f"{value:.{decimals}f}"
    if float(text) == 0.0:  # no "-0.000": it ties with "0.000"
        text = text.removeprefix("-")
    return minus + text[1:] if text.startswith("-") else text


def cell_text(mean: float, std: float, decimals: int, plus_minus: str, minus: str = "-") -> str:
    """``mean ± std`` as printed; the mean alone when std is NaN; '–' when mean is NaN."""
    if np.isnan(mean):
        return "\u2013"
    text = format_number(mean, decimals, minus)
    return text if np.isnan(std) else f"{text}{plus_minus}{format_number(std, decimals)}"


def image_count_note(summary: Summary) -> str:
    """'images per method: msrs 2, roadscene 2, all 4', or a pointer to column n if they vary."""
    per_dataset = summary.images.groupby(level="dataset", sort=False).agg(["min", "max"])
    if (per_dataset["min"] != per_dataset["max"]).any():
        return "image counts differ between methods (column n)"
    counts = ", ".join(f"{d} {int(n)}" for d, n in per_dataset["min"].items())
    return f"images per method: {counts}"


def units_note(summary: Summary) -> str:
    """'EN in bits; MI in nats; ...' (short units; '' when every metric is unitless)."""
    return "; ".join(f"{m.name} in {m.short_unit}" for m in summary.metrics if m.short_unit)


def display_frame(
    summary: Summary, header: dict[str, str], plus_minus: str, minus: str = "-"
) -> pd.DataFrame:
    """String table: rows (dataset, method), columns n and one per metric (``header`` labels)."""
    frame = pd.DataFrame(index=summary.stats.index)
    frame["n"] = summary.images.astype(int).astype(str)
    for metric in summary.metrics:
        means = summary.stats[(metric.name, "mean")]
        stds = summary.stats[(metric.name, "std")]
        frame[header[metric.name]] = [
            cell_text(mean, std, summary.decimals, plus_minus, minus)
            for mean, std in zip(means, stds, strict=True)
        ]
    return frame


LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters in plain ``text``."""
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_unit(unit: str) -> str:
    """Escaped unit text with ``^2`` typeset as a superscript."""
    return latex_escape(unit).replace(r"\textasciicircum{}2", "$^2$")


def latex_header(metric: MetricSpec) -> str:
    """Column label: name, unit in parentheses, direction arrow (LaTeX)."""
    arrow = r"$\uparrow$" if metric.direction == "higher" else r"$\downarrow$"
    unit = f" ({latex_unit(metric.short_unit)})" if metric.short_unit else ""
    return f"{latex_escape(metric.name)}{unit} {arrow}"


def latex_caption(summary: Summary) -> str:
    """Caption: statistic, convention, units, image counts, directions and marks (LaTeX)."""
    units = units_note(summary)
    return (
        r"Mean $\pm$ sample standard deviation over images, convention "
        rf"\texttt{{{latex_escape(summary.convention)}}}"
        + (f"; {latex_unit(units)}" if units else "")
        + f"; {latex_escape(image_count_note(summary))}. "
        + (f"{latex_escape(split_note(summary))} " if summary.splits else "")
        + r"$\uparrow$/$\downarrow$: higher/lower is better; best in \textbf{bold}, second "
        r"\underline{underlined} (per dataset)."
    )


def render_latex(summary: Summary, label: str) -> str:
    """A ``table`` float with booktabs rules and a caption, for ``\\input`` (needs booktabs)."""
    header = {m.name: latex_header(m) for m in summary.metrics}
    frame = display_frame(summary, header, plus_minus=r" $\pm$ ", minus="$-$")
    frame = frame.replace("\u2013", "--")
    props = {BEST: "textbf:--rwrap;", SECOND: "underline:--rwrap;", "": ""}
    styles = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for metric in summary.metrics:
        styles[header[metric.name]] = summary.marks[metric.name].map(props).to_numpy()
    styler = frame.style.apply(lambda _: styles, axis=None)
    styler = styler.format_index(escape="latex", axis=0).hide(names=True, axis=0)
    latex = styler.to_latex(
        environment="table",
        hrules=True,
        caption=latex_caption(summary),
        label=label,
        position_float="centering",
        multirow_align="naive",
        column_format="ll" + "r" + "c" * len(summary.metrics),
        clines="skip-last;data",
    )
    note = (
        f"% ivifbench report (values from ivifbench {', '.join(summary.versions)}, convention "
        f"{summary.convention}); needs \\usepackage{{booktabs}}\n"
    )
    return note + _booktabs_layout(latex, ("Dataset", "Method"))


def _booktabs_layout(latex: str, index_names: Sequence[str]) -> str:
    r"""Post-process Styler output: index names in the header row; ``\midrule`` (booktabs)
    between dataset blocks instead of Styler's ``\cline``, none before ``\bottomrule``."""
    lines = latex.splitlines()
    header = lines.index(r"\toprule") + 1
    blank = " & " * len(index_names)
    if not lines[header].startswith(blank):
        raise AssertionError(f"unexpected Styler header line: {lines[header]!r}")
    lines[header] = " & ".join(index_names) + " & " + lines[header][len(blank) :]
    out = []
    for line, following in zip(lines, [*lines[1:], ""], strict=True):
        if line.startswith(r"\cline{"):
            if following != r"\bottomrule":
                out.append(r"\midrule")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


MARKDOWN_MARKS = {BEST: "**{}**", SECOND: "<u>{}</u>", "": "{}"}


def markdown_escape(text: str) -> str:
    """Escape the characters that break a Markdown table cell or add emphasis."""
    return "".join("\\" + ch if ch in "|*_`<>[]\\" else ch for ch in text)


def render_markdown(summary: Summary) -> str:
    """Caption paragraph and a pipe table (bold best, ``<u>`` second)."""
    header = {
        m.name: f"{markdown_escape(m.name)}{f' ({m.short_unit})' if m.short_unit else ''} {m.arrow}"
        for m in summary.metrics
    }
    frame = display_frame(summary, header, plus_minus=" \u00b1 ")
    for metric in summary.metrics:
        column = header[metric.name]
        frame[column] = [
            MARKDOWN_MARKS[mark].format(text)
            for mark, text in zip(summary.marks[metric.name], frame[column], strict=True)
        ]
    units = units_note(summary)
    caption = (
        f"Mean \u00b1 sample standard deviation over images, convention `{summary.convention}`"
        + (f"; {units}" if units else "")
        + f"; {image_count_note(summary)}. \u2191/\u2193: higher/lower is better; "
        "best in **bold**, second <u>underlined</u> (per dataset)."
    )
    columns = ["Dataset", "Method", *frame.columns]
    lines = [
        caption,
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "|".join([":---", ":---"] + ["---:"] * len(frame.columns)) + "|",
    ]
    for (dataset, method), row in frame.iterrows():
        cells = [markdown_escape(str(dataset)), markdown_escape(str(method)), *row]
        lines.append("| " + " | ".join(cells) + " |")
    if summary.splits:
        lines += ["", markdown_escape(split_note(summary))]
    return "\n".join(lines) + "\n"


def csv_column(metric: MetricSpec, stat: str) -> str:
    """CSV column name, short unit in brackets: ``MI mean [nats]``, ``Qabf std``."""
    return f"{metric.name} {stat}" + (f" [{metric.short_unit}]" if metric.short_unit else "")


def render_csv(summary: Summary) -> str:
    """Full-precision means and stds per (dataset, method), with n and the convention."""
    frame = pd.DataFrame(index=summary.stats.index)
    frame["n"] = summary.images.astype(int)
    for metric in summary.metrics:
        for stat in ("mean", "std"):
            frame[csv_column(metric, stat)] = summary.stats[(metric.name, stat)]
    frame["convention"] = summary.convention
    return frame.reset_index().to_csv(index=False)


def sidecar(summary: Summary) -> dict[str, object]:
    """Everything a reader needs to interpret the tables (written as ``summary.json``)."""
    blocks = summary.stats.index.get_level_values("dataset").unique()
    marks: dict[str, dict[str, dict[str, list[str]]]] = {}
    for dataset in blocks:
        block = summary.marks.loc[dataset]
        marks[dataset] = {
            m.name: {
                kind: [str(x) for x in block.index[block[m.name] == kind]]
                for kind in (BEST, SECOND)
            }
            for m in summary.metrics
        }
    nan_values = {
        f"{dataset}/{method}/{m.name}": int(
            images - summary.stats.loc[(dataset, method), (m.name, "count")]
        )
        for (dataset, method), images in summary.images.items()
        for m in summary.metrics
        if images != summary.stats.loc[(dataset, method), (m.name, "count")]
    }
    return {
        "convention": summary.convention,
        "versions": list(summary.versions),
        "statistic": f"mean and sample standard deviation (ddof={STD_DDOF}) over images",
        "all_block": f"'{ALL_DATASETS}' pools the images of every dataset",
        "decimals": summary.decimals,
        "marks_rule": "dense ranking of the means rounded to `decimals`, in each metric's "
        "direction, per dataset block: best = first value, second = next distinct value",
        "metrics": {m.name: {"direction": m.direction, "unit": m.unit} for m in summary.metrics},
        "images": {
            dataset: {method: int(n) for method, n in summary.images.loc[dataset].items()}
            for dataset in blocks
        },
        "nan_values_left_out": nan_values,
        "splits": {dataset: list(names) for dataset, names in summary.splits.items()},
        "marks": marks,
        "sources": list(summary.sources),
    }


#: Renderer of each format.
RENDERERS = {
    "csv": lambda summary, label: render_csv(summary),
    "latex": lambda summary, label: render_latex(summary, label),
    "md": lambda summary, label: render_markdown(summary),
}


def write_report(
    summary: Summary, outdir: Path, formats: Sequence[str], label: str = "tab:fusion-metrics"
) -> list[Path]:
    """Write the requested formats and the sidecar into ``outdir``; return the paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = outdir / FORMAT_FILES[fmt]
        write_text_atomic(path, RENDERERS[fmt](summary, label))
        written.append(path)
    path = outdir / SIDECAR_FILE
    write_text_atomic(path, json.dumps(sidecar(summary), indent=2, ensure_ascii=False) + "\n")
    written.append(path)
    return written
