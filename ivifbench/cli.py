"""``ivifbench`` command line: ``metrics`` (one triple), ``list-metrics``, ``eval`` (folders of
fused results -> per-image table) and ``report`` (per-image tables -> paper tables).

The commands parse and check arguments; the work is done in ``computation``, ``eval`` and
``report``. Expected mistakes (unreadable file, bad image, unknown metric or convention) print one
``error: ...`` line naming the file or argument on stderr and exit with status 2.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import click
from click.core import ParameterSource

from ivifbench import __version__
from ivifbench.allocator import keep_freed_memory
from ivifbench.cache import default_cache_path
from ivifbench.errors import MetricInputError
from ivifbench.registry import CONVENTION_NAMES, DEFAULT_CONVENTION, METRICS
from ivifbench.splits import SplitError, available_splits, load_split
from ivifdata.cli_common import command_group, fail, out_option, workers_option

#: Formats of ``report --format`` (``ivifbench.report.FORMAT_FILES``, which needs pandas; the
#: commands import pandas only when they run, tests/test_startup.py).
REPORT_FORMATS = ("csv", "latex", "md")


def json_number(value: float) -> float | None:
    """JSON has no NaN or infinity: non-finite values become ``null``."""
    return value if math.isfinite(value) else None


@command_group("ivifbench")
def main() -> None:
    """Infrared-visible fusion metrics that reproduce the published toolboxes exactly."""
    keep_freed_memory()


@main.command(
    "metrics",
    epilog="Example: ivifbench metrics --ir ir.png --vis vis.png --fused fused.png --json",
)
@click.option("--ir", "ir", required=True, help="Infrared source image.")
@click.option("--vis", "vis", required=True, help="Visible source image (gray or RGB).")
@click.option("--fused", "fused", required=True, help="Fused image (gray or RGB).")
@click.option(
    "--convention",
    default=DEFAULT_CONVENTION,
    show_default=True,
    help=f"Toolbox whose variants to follow: {', '.join(CONVENTION_NAMES)}.",
)
@click.option(
    "--metrics",
    "metric_list",
    default=None,
    help="Comma-separated canonical names (e.g. EN,SD,Qabf); default: the convention's list.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"convention": ..., "metrics": {name: value}, "units": {name: unit}}; '
    "NaN and infinite values are written as null.",
)
def metrics_command(
    ir: str, vis: str, fused: str, convention: str, metric_list: str | None, as_json: bool
) -> None:
    """Compute fusion metrics of one IR/VIS/fused triple of 8-bit images."""
    from ivifbench.computation import compute
    from ivifbench.conventions import CONVENTIONS

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = compute(fused, ir, vis, metrics=metric_list, convention=convention)
        except MetricInputError as exc:
            fail(str(exc))
    for warning in caught:
        click.echo(f"warning: {warning.message}", err=True)
    implementations = CONVENTIONS[convention].implementations
    if as_json:
        document = {
            "convention": convention,
            "metrics": {name: json_number(value) for name, value in values.items()},
            "units": {name: implementations[name].unit for name in values},
        }
        click.echo(json.dumps(document))
        return
    width = max(len(name) for name in values)
    for name, value in values.items():
        click.echo(f"{name:<{width}}  {value:>20.12g}  {implementations[name].unit}")


@main.command("list-metrics", epilog="Example: ivifbench list-metrics --json")
@click.option("--json", "as_json", is_flag=True, help="Print the table as one JSON object.")
def list_metrics_command(as_json: bool) -> None:
    """List every metric: direction, unit under each convention, defaults marked with *."""
    from ivifbench.conventions import CONVENTIONS

    table = {}
    for name, info in METRICS.items():
        implemented = [conv for conv in CONVENTIONS.values() if name in conv.implementations]
        units = {conv.name: conv.implementations[name].unit for conv in implemented}
        follows = {conv.name: conv.implementations[name].follows for conv in implemented}
        defaults = [conv.name for conv in CONVENTIONS.values() if name in conv.default_metrics]
        table[name] = {
            "direction": info.direction,
            "unit": info.unit,
            "description": info.description,
            "units": units,
            "follows": follows,
            "default_in": defaults,
        }
    if as_json:
        click.echo(json.dumps(table))
        return
    width = max(len(name) for name in table)
    click.echo(f"{'name':<{width}} {'better':<7} convention: unit (* = in its default list)")
    for name, row in table.items():
        cells = [
            f"{conv}{'*' if conv in row['default_in'] else ''}: {unit}"
            for conv, unit in row["units"].items()
        ]
        missing = [conv for conv in row["default_in"] if conv not in row["units"]]
        cells += [f"{conv}*: not implemented in this version" for conv in missing]
        cells = " | ".join(cells) or "not implemented"
        click.echo(f"{name:<{width}} {row['direction']:<7} {cells}")


def comma_list(value: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; ``None`` stays ``None``."""
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise click.BadParameter("empty list")
    return items


DIRECTORY = click.Path(exists=True, file_okay=False, path_type=Path)


@main.command(
    "eval",
    epilog="Example: ivifbench eval results/MSRS --ir msrs/test/ir --vis msrs/test/vi "
    "--dataset MSRS -o per_image.csv",
)
@click.argument("results", type=DIRECTORY)
@click.option("--ir", "ir_dir", required=True, type=DIRECTORY, help="Folder of IR sources.")
@click.option("--vis", "vis_dir", required=True, type=DIRECTORY, help="Folder of VIS sources.")
@click.option(
    "--dataset", default=None, help="Dataset name in the table [default: the RESULTS folder name]."
)
@click.option(
    "--convention",
    type=click.Choice(list(CONVENTION_NAMES)),
    default=DEFAULT_CONVENTION,
    show_default=True,
    help="Toolbox whose metric variants to follow.",
)
@click.option(
    "--metrics",
    "metric_list",
    default=None,
    help="Comma-separated metric names [default: the convention's list].",
)
@workers_option()
@out_option(
    "Per-image CSV; an existing one is extended (rows of the evaluated methods replaced).",
    file_okay=True,
)
@click.option(
    "--problems",
    "problems_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Problems report CSV [default: OUT with .problems.csv].",
)
@click.option(
    "--cache",
    "cache_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Value cache (SQLite) [default: $IVIFBENCH_CACHE or ~/.cache/ivifbench/values.sqlite].",
)
@click.option("--no-cache", is_flag=True, help="Compute everything; read and write no cache.")
@click.option(
    "--split",
    "split_name",
    default=None,
    help=f"Evaluate only the images of a test split: {', '.join(available_splits())}, or a "
    "file of stems; images it lists that are missing are problems.",
)
@click.option("--strict", is_flag=True, help="Exit with status 1 when any problem was found.")
@click.option(
    "--device",
    default=None,
    help="Compute the metrics the torch backend covers with torch on this device (cpu, "
    "cuda, cuda:1...), in batches of images of one size [default: numpy].",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Triples per torch batch with --device.",
)
def eval_command(
    results: Path,
    ir_dir: Path,
    vis_dir: Path,
    dataset: str | None,
    convention: str,
    metric_list: str | None,
    workers: int,
    out: Path,
    problems_file: Path | None,
    cache_file: Path | None,
    no_cache: bool,
    split_name: str | None,
    strict: bool,
    device: str | None,
    batch_size: int,
) -> None:
    """Evaluate every method folder RESULTS/<method>/ against the IR and VIS sources.

    Fused images are matched to their sources by file stem (.png .jpg .jpeg .bmp .tif .tiff).
    Unmatched, unreadable or mis-sized files are listed in the problems report and the summary;
    everything else is still evaluated. Exit status: 0, or 1 with --strict and any problem
    (metric warnings do not count), 2 for usage errors.
    """
    from ivifbench.computation import resolve_metrics
    from ivifbench.conventions import get_convention
    from ivifbench.eval import TableMismatchError, format_summary, problems_path_for, run_eval

    try:
        metrics = resolve_metrics(get_convention(convention), metric_list)
    except MetricInputError as exc:
        fail(str(exc))
    if no_cache and cache_file is not None:
        fail("--cache and --no-cache exclude each other")
    if device is not None:
        from ivifbench.torch_backend import resolve_device

        try:
            resolve_device(device)
        except MetricInputError as exc:
            fail(f"--device {exc}")
    elif click.get_current_context().get_parameter_source("batch_size") != ParameterSource.DEFAULT:
        fail("--batch-size needs --device")
    problems_path = problems_file or problems_path_for(out)
    try:
        split = None if split_name is None else load_split(split_name)
    except SplitError as exc:
        fail(f"--split: {exc}")
    try:
        summary = run_eval(
            results,
            ir_dir,
            vis_dir,
            out,
            dataset=dataset or results.resolve().name,
            convention=convention,
            metrics=metrics,
            version=__version__,
            workers=workers,
            cache_path=None if no_cache else cache_file or default_cache_path(),
            problems_path=problems_path,
            progress=sys.stderr.isatty(),
            split=split,
            device=device,
            batch_size=batch_size,
        )
    except TableMismatchError as exc:
        fail(f"{out}: {exc}")
    except ValueError as exc:
        fail(str(exc))
    click.echo(format_summary(summary, out, problems_path))
    if strict and summary.failures:
        fail(f"--strict: {len(summary.failures)} problem(s)", code=1)


@main.command(
    "report",
    epilog="Example: ivifbench report per_image.csv -o tables/ --methods CNN,Transformer,GAN",
)
@click.argument(
    "tables", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@out_option("Folder for summary.{csv,tex,md,json}, the plots and the statistics.")
@click.option(
    "--format",
    "formats",
    default="csv,latex,md",
    show_default=True,
    help=f"Comma-separated: {', '.join(REPORT_FORMATS)}.",
)
@click.option("--metrics", "metric_list", default=None, help="Metrics and their order.")
@click.option("--methods", "method_list", default=None, help="Methods and their order.")
@click.option(
    "--decimals",
    type=click.IntRange(0, 12),
    default=3,
    show_default=True,
    help="Decimals printed (and used to decide ties).",
)
@click.option("--label", default="tab:fusion-metrics", show_default=True, help="LaTeX label.")
@click.option("--plots", is_flag=True, help="Also write box plots and qualitative grids (PNG).")
@click.option(
    "--images",
    "image_list",
    default=None,
    help="Image stems for the qualitative grids [default: the first image of each dataset].",
)
@click.option(
    "--stats",
    "with_stats",
    is_flag=True,
    help="Also write Friedman tests, average ranks, post-hoc comparisons, critical-difference "
    "diagrams and cumulative distribution curves per metric.",
)
@click.option(
    "--posthoc",
    type=click.Choice(["nemenyi", "wilcoxon-holm"]),
    default="nemenyi",
    show_default=True,
    help="Post-hoc pairwise test of --stats.",
)
@click.option(
    "--alpha",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level of --stats.",
)
def report_command(
    tables: tuple[Path, ...],
    out: Path,
    formats: str,
    metric_list: str | None,
    method_list: str | None,
    decimals: int,
    label: str,
    plots: bool,
    image_list: str | None,
    with_stats: bool,
    posthoc: str,
    alpha: float,
) -> None:
    """Aggregate per-image tables into mean +- std per dataset and method, with the best value
    of each metric in bold and the second underlined (respecting its direction)."""
    from ivifbench.report import (
        FORMAT_FILES,
        ReportInputError,
        image_count_note,
        load_tables,
        summarise,
        write_report,
    )

    ctx = click.get_current_context()
    for name in ("posthoc", "alpha"):
        if not with_stats and ctx.get_parameter_source(name) is not ParameterSource.DEFAULT:
            fail(f"--{name} applies to --stats; add --stats or drop --{name}")
    chosen_formats = comma_list(formats) or []
    unknown = [f for f in chosen_formats if f not in FORMAT_FILES]
    if unknown:
        fail(f"--format: unknown {', '.join(unknown)} (known: {', '.join(FORMAT_FILES)})")
    try:
        table = load_tables(tables)
        summary = summarise(
            table,
            metrics=comma_list(metric_list),
            methods=comma_list(method_list),
            decimals=decimals,
            sources=[str(t) for t in tables],
        )
    except (ReportInputError, ValueError) as exc:
        fail(str(exc))
    written = write_report(summary, out, chosen_formats, label=label)
    if plots:
        from ivifbench.plots import write_plots  # matplotlib: imported only when plotting

        methods = list(summary.images.index.get_level_values("method").unique())
        written += write_plots(
            table, summary.metrics, methods, summary.convention, out, comma_list(image_list)
        )
    if with_stats:
        from ivifbench.plots import write_cdf_plots  # matplotlib, scipy: only when asked
        from ivifbench.stats import write_stats

        methods = list(summary.images.index.get_level_values("method").unique())
        chosen = table[table["method"].isin(methods)]
        written += write_stats(chosen, summary.metrics, methods, out, posthoc, alpha)
        written += write_cdf_plots(chosen, summary.metrics, methods, summary.convention, out)
    click.echo(f"{image_count_note(summary)}; convention {summary.convention}")
    for path in written:
        click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
