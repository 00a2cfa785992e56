"""Click commands ``build``, ``verify`` and ``inspect`` (registered on ``ivifdata.cli.main``)."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from ivifdata.build import BuildError, build
from ivifdata.recipe import RecipeError, load_recipe


def _fail(message: str, code: int = 2) -> None:
    click.echo(message, err=True)
    raise SystemExit(code)


@click.command("build")
@click.argument("recipe_path", metavar="RECIPE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--out", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a recipe key."
)
def build_command(
    recipe_path: Path, outdir: Path, workers: int, overrides: tuple[str, ...]
) -> None:
    """Build the shards RECIPE describes into OUTDIR (resumes an interrupted build)."""
    bars: dict[str, tqdm] = {}

    def progress(phase: str, count: int) -> None:
        if phase not in bars:
            bars[phase] = tqdm(desc=phase, unit="item", leave=False)
        bars[phase].update(count)

    try:
        recipe = load_recipe(recipe_path, overrides)
        outcome = build(recipe, outdir, workers=workers, progress=progress)
    except RecipeError as exc:
        _fail("recipe error in " + exc.source + ":\n" + "\n".join(f"  {p}" for p in exc.problems))
    except BuildError as exc:
        _fail(str(exc))
    finally:
        for bar in bars.values():
            bar.close()
    record = outcome.record
    click.echo(
        f"{outcome.state}: {outdir}: {record['n']} patches, outputs {', '.join(record['outputs'])}"
    )


@click.command("verify")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
def verify_command(outdir: Path) -> None:
    """Re-hash and decode every shard of the build in OUTDIR; exit 1 on any damage."""
    from ivifdata.verify import verify

    if not outdir.is_dir():
        _fail(f"{outdir}: not a folder")
    problems, counts = verify(outdir)
    if problems:
        for problem in problems:
            click.echo(problem, err=True)
        _fail(f"{outdir}: {len(problems)} problem(s) found", code=1)
    click.echo(
        f"{outdir}: OK ({counts['indexes']} indexes, {counts['shards']} shards, "
        f"{counts['samples']} samples re-hashed and decoded)"
    )


@click.command("inspect")
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
        _fail(f"{outdir}: not a finished ivifdata build ({exc})")
    click.echo("\n".join(lines))
    if sheet is not None:
        save_contact_sheet(outdir, sheet, count, epoch)
        click.echo(f"contact sheet of {count} pairs of epoch {epoch}: {sheet}")


#: the commands ``ivifdata.cli`` registers on its group.
BUILD_COMMANDS = [build_command, verify_command, inspect_command]
