"""Click commands ``build``, ``verify`` and ``inspect`` (registered on ``ivifdata.cli.main``).

The modules doing the work are imported inside each command, so ``--help`` stays fast and
``verify``/``inspect`` load neither torch nor pandas.
"""

from __future__ import annotations

from pathlib import Path

import click

from ivifdata.cli_common import fail, out_option, workers_option

#: How many skipped source images are listed on the terminal (all are in build.json).
MAX_LISTED = 20


@click.command(
    "build",
    epilog="Example: ivifdata build manifests/sample.yaml -o shards/sample",
)
@click.argument("recipe_path", metavar="RECIPE", type=click.Path(dir_okay=False, path_type=Path))
@out_option("Folder of the build (shards, index, build.json); an interrupted build resumes.")
@workers_option()
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a recipe key."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder holding the dataset roots (recipe key data_dir; relative to the current "
    "directory). The one override the shipped recipes need.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when a selected source image was skipped (the build is still written).",
)
def build_command(
    recipe_path: Path,
    out: Path,
    workers: int,
    overrides: tuple[str, ...],
    data_dir: Path | None,
    strict: bool,
) -> None:
    """Build the shards RECIPE describes into OUT (resumes an interrupted build).

    One build at a time per OUT: a second one exits 2 naming the running build's pid.
    Source images the build cannot use (unreadable, bands of different sizes, smaller than a
    patch, no image of the other band) are counted here, listed in OUT/build.json and by
    ``ivifdata inspect``.
    """
    from ivifdata.build import BuildError, DiskFull, build
    from ivifdata.progress import Reporter
    from ivifdata.recipe import RecipeError, load_recipe
    from ivifdata.shardformat import skipped_sources

    progress = Reporter()
    try:
        recipe = load_recipe(recipe_path, overrides, data_dir)
        outcome = build(recipe, out, workers=workers, progress=progress)
    except RecipeError as exc:
        fail("recipe error in " + exc.source + ":\n" + "\n".join(f"  {p}" for p in exc.problems))
    except DiskFull as exc:
        fail(str(exc), code=1)
    except BuildError as exc:  # another build's folder, or one running there: usage errors
        fail(str(exc))
    finally:
        progress.close()
    record = outcome.record
    skipped = skipped_sources(record)
    click.echo(
        f"{outcome.state}: {out}: {record['n']} patches, outputs {', '.join(record['outputs'])}"
        f", {len(skipped)} source image(s) skipped"
    )
    for path, reason in skipped[:MAX_LISTED]:
        click.echo(f"  skipped {path}: {reason}", err=True)
    if len(skipped) > MAX_LISTED:
        click.echo(f"  ... and {len(skipped) - MAX_LISTED} more (see build.json)", err=True)
    if strict and skipped:
        fail(f"{len(skipped)} source image(s) skipped (--strict)", code=1)


@click.command("verify", epilog="Example: ivifdata verify shards/sample")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
def verify_command(outdir: Path) -> None:
    """Re-hash and decode every shard of the build in OUTDIR; exit 1 on any damage."""
    from ivifdata.progress import Reporter
    from ivifdata.verify import verify

    if not outdir.is_dir():
        fail(f"{outdir}: not a folder")
    progress = Reporter()
    try:
        problems, counts = verify(outdir, progress)
    finally:
        progress.close()
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        fail(f"{outdir}: {len(problems)} problem(s) found", code=1)
    click.echo(
        f"{outdir}: OK ({counts['indexes']} indexes, {counts['shards']} shards, "
        f"{counts['samples']} samples re-hashed and decoded)"
    )


@click.command(
    "inspect", epilog="Example: ivifdata inspect shards/sample --contact-sheet sheet.png"
)
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--contact-sheet",
    "sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save a PNG of sampled pairs (IR left, VIS right).",
)
@click.option("--pairs", "count", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--epoch", type=click.IntRange(min=0), default=0, show_default=True)
def inspect_command(outdir: Path, sheet: Path | None, count: int, epoch: int) -> None:
    """Print a summary of the build in OUTDIR (and optionally save a contact sheet)."""
    from ivifdata.inspection import save_contact_sheet, summary

    try:
        lines = summary(outdir)
    except (OSError, ValueError, KeyError) as exc:
        fail(f"{outdir}: not a finished ivifdata build ({exc})")
    click.echo("\n".join(lines))
    if sheet is not None:
        save_contact_sheet(outdir, sheet, count, epoch)
        click.echo(f"contact sheet of {count} pairs of epoch {epoch}: {sheet}")


#: the commands ``ivifdata.cli`` registers on its group.
BUILD_COMMANDS = [build_command, verify_command, inspect_command]
