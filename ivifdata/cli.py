"""``ivifdata`` command line: ``scan`` raw dataset folders into a catalog.

Heavy modules (pandas for the catalog) are imported inside the commands that use them, so
``--help`` is fast and ``verify``/``inspect`` do not load them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ivifdata.build_cli import BUILD_COMMANDS
from ivifdata.cli_common import command_group, fail, out_option, workers_option
from ivifdata.layouts import LAYOUTS

if TYPE_CHECKING:
    import pandas as pd

#: How many unusable files are listed on the terminal (all are in problems.csv).
MAX_LISTED = 20


@command_group("ivifdata")
def main() -> None:
    """ivifdata: raw IVIF datasets -> catalog -> training shards."""


@main.command("scan", epilog="Example: ivifdata scan /data/ivif -o catalog/")
@click.argument("root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--layout",
    type=click.Choice(list(LAYOUTS)),
    default=None,
    help="Force a layout for ROOT (default: detect each dataset root under ROOT).",
)
@workers_option()
@click.option(
    "--check",
    type=click.Choice(["decode", "header"]),
    default="decode",
    show_default=True,
    help="decode: decode every pixel (finds any corrupt image). header: verify headers and PNG "
    "CRCs only, ~15x faster; damaged JPEG/BMP/TIFF pixel data is not found.",
)
@out_option("Folder to write catalog.csv, pairs.csv, problems.csv and datasets.csv to.")
def scan_command(root: Path, layout: str | None, workers: int, check: str, out: Path) -> None:
    """Catalog ROOT (one dataset root or a folder of several) into OUT/*.csv."""
    from ivifdata.catalog import LayoutNotFoundError, scan

    try:
        result = scan(root, layout=layout, workers=workers, progress=True, check=check)
    except LayoutNotFoundError as exc:
        fail(str(exc))
    if not result.usable:
        _echo_problems(result.problems)
        fail(f"{root}: no usable source image found (see the problems above)")
    result.write(out)
    click.echo(result.summary().to_string(index=False))
    _echo_problems(result.problems)
    click.echo(f"wrote {out}/catalog.csv, pairs.csv, problems.csv")


def _echo_problems(problems: pd.DataFrame) -> None:
    """Count problems by kind; list the unusable files (stderr)."""
    from ivifdata.catalog import ERROR_KINDS

    if not len(problems):
        return
    counts = problems["kind"].value_counts().sort_index()
    click.echo("problems: " + ", ".join(f"{k} {n}" for k, n in counts.items()), err=True)
    errors = problems[problems["kind"].isin(ERROR_KINDS)]
    for row in errors.head(MAX_LISTED).itertuples(index=False):
        click.echo(f"  {row.path}: {row.message}", err=True)
    if len(errors) > MAX_LISTED:
        click.echo(f"  ... and {len(errors) - MAX_LISTED} more (see problems.csv)", err=True)


for _command in BUILD_COMMANDS:
    main.add_command(_command)

if __name__ == "__main__":
    main()
