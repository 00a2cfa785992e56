"""``ivifbench`` command line: ``metrics`` (one triple) and ``list-metrics``.

Other commands (``eval``, ``report``) register themselves on the ``main`` group from their own
modules. Expected mistakes (unreadable file, bad image, unknown metric or convention) print one
``error: ...`` line naming the file or argument on stderr and exit with status 2.
"""

from __future__ import annotations

import json
import math
import sys
import warnings

import click

from ivifbench import __version__
from ivifbench.computation import compute
from ivifbench.conventions import CONVENTIONS, DEFAULT_CONVENTION
from ivifbench.errors import MetricInputError
from ivifbench.registry import METRICS


def fail(message: str) -> None:
    """Print ``error: message`` on stderr and exit with status 2 (usage error)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def json_number(value: float) -> float | None:
    """JSON has no NaN or infinity: non-finite values become ``null``."""
    return value if math.isfinite(value) else None


@click.group()
@click.version_option(__version__, prog_name="ivifbench")
def main() -> None:
    """Infrared-visible fusion metrics that reproduce the published toolboxes exactly."""


@main.command("metrics")
@click.option("--ir", "ir", required=True, help="Infrared source image.")
@click.option("--vis", "vis", required=True, help="Visible source image (gray or RGB).")
@click.option("--fused", "fused", required=True, help="Fused image (gray or RGB).")
@click.option(
    "--convention",
    default=DEFAULT_CONVENTION,
    show_default=True,
    help=f"Toolbox whose variants to follow: {', '.join(CONVENTIONS)}.",
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


@main.command("list-metrics")
@click.option("--json", "as_json", is_flag=True, help="Print the table as one JSON object.")
def list_metrics_command(as_json: bool) -> None:
    """List every metric: direction, unit under each convention, defaults marked with *."""
    table = {}
    for name, info in METRICS.items():
        units = {
            conv.name: conv.implementations[name].unit
            for conv in CONVENTIONS.values()
            if name in conv.implementations
        }
        defaults = [conv.name for conv in CONVENTIONS.values() if name in conv.default_metrics]
        table[name] = {
            "direction": info.direction,
            "unit": info.unit,
            "description": info.description,
            "units": units,
            "default_in": defaults,
        }
    if as_json:
        click.echo(json.dumps(table))
        return
    click.echo(f"{'name':<5} {'better':<7} convention: unit (* = in its default list)")
    for name, row in table.items():
        cells = [
            f"{conv}{'*' if conv in row['default_in'] else ''}: {unit}"
            for conv, unit in row["units"].items()
        ]
        missing = [conv for conv in row["default_in"] if conv not in row["units"]]
        cells += [f"{conv}*: not implemented in this version" for conv in missing]
        click.echo(f"{name:<5} {row['direction']:<7} {' | '.join(cells) or 'not implemented'}")


if __name__ == "__main__":
    main()
