"""``ivifmodels``: command line of the baselines (``ivifmodels fuse ...``).

torch is imported inside the commands that need it, so that ``ivifmodels --help`` is fast.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from tqdm import tqdm

from ivifdata.cli_common import command_group, fail, out_option

from .names import DEFAULT_CHECKPOINT_MINUTES, OUTPUT_MODES, RELEASED_FILES, TRAINABLE, WEIGHTS_ENV
from .outputs import FuseOutputs, OutputFolderError, check_separate
from .pairs import Pair, PairProblem, find_pairs
from .study.cli import study_command, study_status_command

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

THREADS_HELP = (
    "CPU threads of torch [default: $OMP_NUM_THREADS, else the CPUs this process may use "
    "divided by the processes sharing them]."
)


@command_group("ivifmodels")
def main() -> None:
    """Lightweight IVIF baselines: train them on shards, fuse images with their weights."""


def _check_tiling_and_device(tile: int, stride: int, device: str) -> None:
    """Usage errors (exit 2) for a bad --tile/--stride or --device cuda without CUDA."""
    import torch

    from .fuse import check_tiling

    try:
        check_tiling(tile, stride)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tile/--stride") from None
    if device == "cuda" and not torch.cuda.is_available():
        raise click.BadParameter("CUDA is not available on this machine", param_hint="--device")


def _save_float(tmp: str, fused: np.ndarray) -> None:
    import numpy as np

    with open(tmp, "wb") as fh:
        np.save(fh, fused.astype(np.float32))


def _outputs_of(stem: str, save_float: bool) -> list[str]:
    """Names of the files fuse writes for a pair."""
    return [f"{stem}.png", *([f"{stem}.npy"] if save_float else [])]


def _fuse_one(pair: Pair, model: nn.Module, outputs: FuseOutputs, opts: dict) -> None:
    """Read, fuse and write one pair; raises ImageReadError / ValueError on bad input."""
    from ivifdata.imageio import read_image, write_png

    from .fuse import fuse_images

    ir = read_image(pair.ir, to_8bit=True)
    vis = read_image(pair.vis, to_8bit=True)
    image, fused = fuse_images(model, ir, vis, **opts["fuse"])
    outputs.write(f"{pair.stem}.png", lambda tmp: write_png(tmp, image))
    if opts["save_float"]:
        outputs.write(f"{pair.stem}.npy", lambda tmp: _save_float(tmp, fused))


@main.command(
    epilog="Example: ivifmodels fuse --model cnn --ir msrs/test/ir --vis msrs/test/vi "
    "-o results/MSRS/CNN",
)
@click.option(
    "--model",
    "name",
    required=True,
    type=click.Choice(sorted(RELEASED_FILES)),
    help="Which baseline.",
)
@click.option(
    "--weights",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Checkpoint file (default: ${WEIGHTS_ENV}/<CNN|Trans|GAN>.model).",
)
@click.option(
    "--ir", required=True, type=click.Path(exists=True, path_type=Path), help="IR image or folder."
)
@click.option(
    "--vis",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="VIS image or folder.",
)
@out_option("Folder for <stem>.png (and <stem>.npy); separate from the input folders.")
@click.option("--tile", default=128, show_default=True, help="Tile size (multiple of 4).")
@click.option("--stride", default=64, show_default=True, help="Tile stride.")
@click.option(
    "--scale",
    type=click.Choice(OUTPUT_MODES),
    default="stretch",
    show_default=True,
    help="Float map -> 0-255: stretch = the published min-max save; clip = [0, 1] -> 0-255.",
)
@click.option("--gray", is_flag=True, help="Write gray results for colour VIS (as published).")
@click.option(
    "--batch",
    default=None,
    type=click.IntRange(min=1),
    help="Tiles per forward pass [default: 2 on CPU, 64 on CUDA].",
)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--save-float", is_flag=True, help="Also write the fused float map (<stem>.npy, float32)."
)
@click.option("--threads", type=click.IntRange(min=1), default=None, help=THREADS_HELP)
@click.option(
    "--overwrite", is_flag=True, help="Replace existing files that fuse did not write before."
)
def fuse(
    name: str,
    weights: Path | None,
    ir: Path,
    vis: Path,
    out: Path,
    tile: int,
    stride: int,
    scale: str,
    gray: bool,
    batch: int | None,
    device: str,
    save_float: bool,
    threads: int | None,
    overwrite: bool,
) -> None:
    """Fuse IR/VIS pairs (two files, or two folders matched by file name) into OUT/<stem>.png.

    Tiled inference as published (tiles of --tile px at --stride, Gaussian blending, final
    sigma 0.3 filter); any image size. Colour VIS images give RGB results with the VIS chroma
    unless --gray. Pairs that cannot be fused are reported and skipped (exit status 1).
    OUT must be separate from the input folders; files in it that fuse did not write are
    replaced only with --overwrite (docs/models.md).
    """
    from ivifdata.imageio import ImageReadError

    from .threads import set_threads
    from .weights import WeightsError, load_released

    _check_tiling_and_device(tile, stride, device)
    set_threads(threads)
    try:
        check_separate(out, [("--ir", ir), ("--vis", vis)])
        pairs, problems = find_pairs(ir, vis)
    except ValueError as exc:
        fail(str(exc))
    if not pairs:
        for p in problems:
            click.echo(f"skipped {p.path}: {p.reason}", err=True)
        fail(f"no IR/VIS pairs found in {ir} and {vis}")
    outputs = FuseOutputs(out, name)
    if not overwrite:
        try:
            outputs.check_replaceable(n for p in pairs for n in _outputs_of(p.stem, save_float))
        except OutputFolderError as exc:
            fail(str(exc))
    try:
        model = load_released(name, weights, device)
    except WeightsError as exc:
        fail(str(exc))
    opts = {
        "fuse": dict(output=scale, gray=gray, tile=tile, stride=stride, batch=batch, device=device),
        "save_float": save_float,
    }
    done = 0
    for pair in tqdm(pairs, desc=f"fuse {name}", unit="pair"):
        try:
            _fuse_one(pair, model, outputs, opts)
            done += 1
        except (ImageReadError, ValueError) as exc:
            problems.append(_problem(pair, exc))
    for p in problems:
        click.echo(f"skipped {p.path}: {p.reason}", err=True)
    where = f"into {out}" if done else "(nothing written)"
    click.echo(f"{name}: fused {done} pair(s) {where}, skipped {len(problems)}")
    if problems:
        raise SystemExit(1)


class Interval(click.ParamType):
    """``N`` steps, or a duration ``Ns`` / ``Nmin`` / ``Nh``: ``("steps", N)`` or
    ``("seconds", s)``."""

    name = "N|DURATION"
    UNITS = {"s": 1.0, "min": 60.0, "h": 3600.0}

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|min|h)?\s*", str(value))
        if match and match[2] and float(match[1]) > 0:
            return ("seconds", float(match[1]) * self.UNITS[match[2]])
        if match and not match[2] and match[1].isdigit() and int(match[1]) > 0:
            return ("steps", int(match[1]))
        self.fail(f"{value!r} is neither a number of steps nor a duration like 90s, 5min, 1h")


@main.command(
    "train",
    epilog="Example: ivifmodels train --model cnn --shards shards/sample -o runs/cnn "
    "--max-steps 100",
)
@click.option(
    "--model", "name", required=True, type=click.Choice(TRAINABLE), help="Which baseline."
)
@click.option(
    "--shards",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder built by `ivifdata build` (holds index.json).",
)
@out_option("Run folder: last.pt (resumable), model.pt (for fuse --weights), log.jsonl.")
@click.option(
    "--epochs",
    default=None,
    type=click.IntRange(min=1),
    help="Epochs to train in all [default: the recipe's pairing.epochs].",
)
@click.option(
    "--batch", default=8, show_default=True, type=click.IntRange(min=1), help="Batch per process."
)
@click.option("--lr", default=1e-4, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--seed", default=0, show_default=True, help="Seed of the network initialisation.")
@click.option("--pair-seed", default=None, type=int, help="Pairing seed [default: the recipe's].")
@click.option(
    "--max-steps",
    default=None,
    type=click.IntRange(min=1),
    help="Stop (and checkpoint) after this many steps in all.",
)
@click.option(
    "--checkpoint-every",
    default=f"{DEFAULT_CHECKPOINT_MINUTES}min",
    show_default=True,
    type=Interval(),
    help="Also checkpoint every N steps, or every DURATION (90s, 5min, 1h); always at each "
    "epoch end and on SIGTERM / Ctrl-C.",
)
@click.option("--resume", is_flag=True, help="Continue the run checkpointed in OUTDIR.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help=THREADS_HELP)
def train_command(
    name: str,
    shards: Path,
    out: Path,
    epochs: int | None,
    batch: int,
    lr: float,
    device: str,
    seed: int,
    pair_seed: int | None,
    max_steps: int | None,
    checkpoint_every: tuple[str, float],
    resume: bool,
    threads: int | None,
) -> None:
    """Train a baseline on the patch bank in SHARDS; write OUTDIR/last.pt (resumable),
    OUTDIR/model.pt (for `ivifmodels fuse --weights`) and OUTDIR/log.jsonl.

    Under `torchrun --nproc_per_node N` the run is data-parallel (DDP, gloo on CPU, nccl on
    CUDA); each process takes --batch pairs per step. SIGTERM and Ctrl-C stop the run with a
    checkpoint (exit status 128 + signal number).
    """
    import torch

    from ivifdata.shardformat import INDEX_FILE, read_bank_index

    from .threads import set_threads
    from .train import (
        DiskFullError,
        TrainConfig,
        TrainError,
        TrainInterrupted,
        check_output,
        distributed_context,
        train,
    )

    if device == "cuda" and not torch.cuda.is_available():
        raise click.BadParameter("CUDA is not available on this machine", param_hint="--device")
    index = shards / INDEX_FILE
    if not index.is_file():
        raise click.BadParameter(
            f"{shards}: not a shard folder ({INDEX_FILE} not found)", param_hint="--shards"
        )
    try:
        recipe_epochs = read_bank_index(shards).pairing.epochs
    except ValueError as exc:
        raise click.BadParameter(
            f"{index}: not a patch-bank index ({exc})", param_hint="--shards"
        ) from None
    config = TrainConfig(
        model=name,
        shards=str(shards.resolve()),
        epochs=epochs or recipe_epochs,
        batch=batch,
        lr=lr,
        seed=seed,
        pair_seed=pair_seed,
        max_steps=max_steps,
        checkpoint_every=int(checkpoint_every[1]) if checkpoint_every[0] == "steps" else None,
        checkpoint_seconds=checkpoint_every[1] if checkpoint_every[0] == "seconds" else None,
        device=device,
        world_size=distributed_context().world_size,
    )
    set_threads(threads)
    try:
        check_output(out, resume)
        progress = train(config, out, resume)
    except TrainError as exc:
        fail(str(exc))
    except DiskFullError as exc:
        fail(str(exc), code=1)
    except TrainInterrupted as exc:
        click.echo(f"{name}: {exc}", err=True)
        sys.exit(128 + exc.signum)
    click.echo(
        f"{name}: epoch {progress.epoch}, step {progress.step}; wrote {out / 'last.pt'} and "
        f"{out / 'model.pt'}"
    )


@main.command(
    "profile",
    epilog="Example: ivifmodels profile --model cnn --model transformer --format md",
)
@click.option(
    "--model",
    "names",
    required=True,
    multiple=True,
    type=click.Choice(["cnn", "transformer", "gan"]),
    help="Baseline to profile (repeat for several rows).",
)
@click.option("--size", default="640x480", show_default=True, help="Image size, WIDTHxHEIGHT.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "md", "latex"]), default="md", show_default=True
)
@click.option("--tile", default=128, show_default=True, help="Tile size, as for fuse.")
@click.option("--stride", default=64, show_default=True, help="Tile stride, as for fuse.")
@click.option(
    "--batch",
    default=None,
    type=click.IntRange(min=1),
    help="Tiles per forward pass [default: 2 on CPU, 64 on CUDA].",
)
@click.option("--threads", type=click.IntRange(min=1), default=None, help=THREADS_HELP)
@click.option("--warmup", default=2, show_default=True, type=click.IntRange(min=0))
@click.option("--repeats", default=10, show_default=True, type=click.IntRange(min=1))
@out_option("Write the table to this file [default: stdout].", required=False, file_okay=True)
def profile_command(
    names: tuple[str, ...],
    size: str,
    device: str,
    fmt: str,
    tile: int,
    stride: int,
    batch: int | None,
    threads: int | None,
    warmup: int,
    repeats: int,
    out: Path | None,
) -> None:
    """Parameters, FLOPs, time per image and peak memory of one full-image fusion, as a table
    row (csv, md or latex) for the report's tables. Details: docs/models.md."""
    from ivifdata.atomic import write_text_atomic

    from .profile import parse_size, profile_model, render_profiles
    from .threads import set_threads

    try:
        width, height = parse_size(size)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--size") from None
    _check_tiling_and_device(tile, stride, device)
    set_threads(threads)
    rows = []
    for name in tqdm(names, desc="profile", unit="model", disable=len(names) == 1):
        rows.append(
            profile_model(
                name,
                width,
                height,
                device=device,
                tile=tile,
                stride=stride,
                batch=batch,
                warmup=warmup,
                repeats=repeats,
            )
        )
    text = render_profiles(rows, fmt)
    if out is None:
        click.echo(text, nl=False)
        return
    write_text_atomic(out, text)
    click.echo(f"wrote {out}")


def _problem(pair: Pair, exc: Exception) -> PairProblem:
    """The report line of a pair that failed: the unreadable file, or the pair and why."""
    from ivifdata.imageio import ImageReadError

    if isinstance(exc, ImageReadError):
        return PairProblem(Path(exc.path), exc.reason)
    return PairProblem(pair.ir, f"{exc} (with {pair.vis})")


main.add_command(study_command)
main.add_command(study_status_command)

if __name__ == "__main__":
    main()
