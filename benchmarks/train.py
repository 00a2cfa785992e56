"""Training speed: steps/s of each baseline, whole loop against the bare optimisation step.

Builds the bundled sample bank (``manifests/sample.yaml``: 128 x 128 patches) in a temporary
folder, then per model, interleaved ``--reps`` times:

- bare: ``objective.step`` on one batch already in memory (forward, losses, backward, Adam);
- loop: ``Trainer.run`` for ``--steps`` steps (loader, logging, the final checkpoint write).

Prints steps/s (median over the repetitions) and loop / bare, the share of the step rate the
loop keeps.

    python benchmarks/train.py [--batch 8] [--steps 10] [--reps 2] [--threads 0]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import click
import torch
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivifdata.cli import main as ivifdata_main  # noqa: E402
from ivifmodels.train import OBJECTIVES, TrainConfig, Trainer  # noqa: E402


def build_sample(folder: Path) -> Path:
    """The sample bank (48 patches of 128 x 128) under ``folder``."""
    out = folder / "bank"
    args = ["build", str(ROOT / "manifests" / "sample.yaml"), "-o", str(out)]
    result = CliRunner().invoke(ivifdata_main, args)
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return out


def bare_rate(trainer: Trainer, steps: int) -> float:
    """Steps/s of ``objective.step`` on one in-memory batch (after one warm-up step)."""
    ir, vis, _ = next(iter(trainer.loader))
    trainer.objective.step(ir, vis)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.objective.step(ir, vis)
    return steps / (time.perf_counter() - start)


def loop_rate(config: TrainConfig, outdir: Path) -> float:
    """Steps/s of a fresh run of ``config.max_steps`` steps (one warm-up run first)."""
    Trainer(config, outdir / "warm", progress_bar=False).run()
    trainer = Trainer(config, outdir / "timed", progress_bar=False)
    start = time.perf_counter()
    progress = trainer.run()
    return progress.step / (time.perf_counter() - start)


@click.command()
@click.option("--batch", default=8, show_default=True)
@click.option("--steps", default=10, show_default=True)
@click.option("--reps", default=2, show_default=True)
@click.option("--threads", default=0, help="torch threads (0: torch's default).")
@click.option("--models", "names", default=",".join(OBJECTIVES), show_default=True)
def main(batch: int, steps: int, reps: int, threads: int, names: str) -> None:
    if threads:
        torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {batch}")
    with tempfile.TemporaryDirectory() as tmp:
        bank = build_sample(Path(tmp))
        for name in names.split(","):
            config = TrainConfig(model=name, shards=str(bank), epochs=1, batch=batch)
            bare, loop = [], []
            for rep in range(reps):
                trainer = Trainer(config, Path(tmp) / "bare", progress_bar=False)
                bare.append(bare_rate(trainer, steps))
                capped = TrainConfig(**{**config.__dict__, "max_steps": steps})
                loop.append(loop_rate(capped, Path(tmp) / f"{name}-{rep}"))
            b, s = statistics.median(bare), statistics.median(loop)
            print(f"{name:12s} bare {b:6.2f} steps/s  loop {s:6.2f} steps/s  loop/bare {s / b:.2f}")


if __name__ == "__main__":
    main()
