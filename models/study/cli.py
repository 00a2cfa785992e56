"""Click commands ``study`` and ``study-status`` (registered on ``ivifmodels.cli.main``).

Heavy modules (torch, the stages) are imported inside the commands.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ivifdata.cli_common import fail, out_option, workers_option


def _fail(problems: list[str], source: str) -> None:
    """Print the problems as ``error:`` lines naming the file; exit 2."""
    for problem in problems[:-1]:
        click.echo(f"error: {source}: {problem}", err=True)
    fail(f"{source}: {problems[-1]}")


@click.command(
    "study", epilog="Example: ivifmodels study manifests/study-sample.yaml -o studies/sample"
)
@click.argument("study_file", metavar="STUDY.yaml", type=click.Path(dir_okay=False, path_type=Path))
@out_option("Study folder: builds, runs, fused results, per_image.csv, report/ and study.json.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@workers_option("Cells trained side by side on CPU (and scan/eval processes).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a key.")
@click.option("--force", is_flag=True, help="Retrain cells whose inputs changed in the file.")
def study_command(
    study_file: Path,
    out: Path,
    device: str,
    workers: int,
    overrides: tuple[str, ...],
    force: bool,
) -> None:
    """Run the paradigm study STUDY.yaml into OUT: build every distinct recipe, train every
    (paradigm, model, seed) cell, fuse the test split, evaluate, and write OUT/report/.

    Killed at any point, the same command resumes where it stopped (docs/study.md).
    """
    from .plan import plan_study
    from .run import STAGES, StudyRunner
    from .spec import StudyError, load_study

    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            fail("--device cuda: CUDA is not available on this machine")
    try:
        study = load_study(study_file, overrides)
        plan = plan_study(study, workers)
        state = StudyRunner(plan, out, device=device, workers=workers, force=force).run()
    except StudyError as exc:
        _fail(exc.problems, exc.source)
    report = out / "report"
    seconds = {name: state["stages"][name].get("seconds") for name in STAGES}
    click.echo(
        f"study {study.get('name')}: {len(study.cells)} cell(s) done; stage seconds "
        + ", ".join(f"{k} {v}" for k, v in seconds.items())
    )
    click.echo(f"table:   {report / 'table.md'} (also .tex, .csv)")
    click.echo(f"tests:   {report / 'significance.md'}")
    click.echo(f"figures: {report}/curves_*.png, {report}/grid_*.png")


def _cell_step(out: Path, record: dict) -> int:
    """Steps logged so far by a cell (its log.jsonl; 0 when none)."""
    log = out / record.get("dir", "") / "log.jsonl"
    if not log.is_file():
        return 0
    return sum(1 for line in log.read_text().splitlines() if '"kind": "step"' in line)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@click.command("study-status", epilog="Example: ivifmodels study-status studies/sample")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
def study_status_command(outdir: Path) -> None:
    """Say what a study in OUTDIR has done, what is running and what is left."""
    from .run import STAGES, STATE_FILE

    path = outdir / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        fail(f"{path}: not a readable study record ({exc})")
    running = _alive(state.get("pid"))
    click.echo(
        f"study {state['study'].get('name')} in {outdir}: "
        + (f"running (pid {state['pid']})" if running else "not running")
    )
    current = next((s for s in STAGES if state["stages"].get(s, {}).get("state") != "done"), None)
    for stage in STAGES:
        record = state["stages"].get(stage)
        if stage == current and running:
            text = "running"
        elif record is None:
            text = "left"
        elif record["state"] == "done":
            text = f"done in {record['seconds']} s"
        else:
            text = "running" if running else "interrupted (rerun the command to resume)"
        click.echo(f"  {stage:<7} {text}")
    steps = state["study"]["train"]["steps"]
    for cell_id in state.get("current_cells", state["cells"]):
        record = state["cells"].get(cell_id, {"state": "left"})
        if record["state"] == "done":
            text = f"done (step {record['step']}, {record['seconds']} s)"
        elif record["state"] == "left":
            text = "left"
        else:
            text = f"{'training' if running else 'interrupted'} at step "
            text += f"{_cell_step(outdir, record)}/{steps}"
        click.echo(f"  cell {cell_id}: {text}")
