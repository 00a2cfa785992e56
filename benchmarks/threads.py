"""Fusion time per thread count: the default of ``models/threads.py`` against each count, same run.

One 640x480 MSRS pair (``tests/data/models/msrs``) fused with the released CNN
(``ivifmodels.fuse.fuse_images``, default tiling) at every thread count from 1 to the usable
CPUs, interleaved (1, 2, ..., 1, 2, ...); prints the minimum and median wall time of each count,
its ratio to the default count, and the load average when it ran.

    python benchmarks/threads.py [--reps 3] [--model cnn]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import click
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivifdata.imageio import read_image  # noqa: E402
from ivifmodels import fuse_images, load_released  # noqa: E402
from ivifmodels.names import RELEASED_FILES  # noqa: E402
from ivifmodels.threads import default_threads, usable_cpus  # noqa: E402

DATA = ROOT / "tests" / "data" / "models"


@click.command()
@click.option("--reps", default=3, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--model", default="cnn", show_default=True, type=click.Choice(sorted(RELEASED_FILES))
)
@click.option("--stem", default="00004N", show_default=True)
def main(reps: int, model: str, stem: str) -> None:
    net = load_released(model, DATA / "weights" / RELEASED_FILES[model])
    ir = read_image(DATA / "msrs" / "ir" / f"{stem}.png", to_8bit=True)
    vis = read_image(DATA / "msrs" / "vi" / f"{stem}.png", to_8bit=True)
    counts = list(range(1, usable_cpus() + 1))
    times: dict[int, list[float]] = {n: [] for n in counts}
    load = os.getloadavg()
    for _ in range(reps):
        for n in counts:
            torch.set_num_threads(n)
            start = time.perf_counter()
            fuse_images(net, ir, vis)
            times[n].append(time.perf_counter() - start)
    load = tuple((a + b) / 2 for a, b in zip(load, os.getloadavg(), strict=True))
    chosen = default_threads()
    base = min(times[chosen])
    print(
        f"{model}, {ir.shape[1]}x{ir.shape[0]}, {reps} reps, usable CPUs {usable_cpus()}, "
        f"default {chosen} thread(s), load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )
    print("threads  min s  median s  min / default")
    for n in counts:
        print(
            f"{n:>7}  {min(times[n]):5.2f}  {statistics.median(times[n]):8.2f}  "
            f"{min(times[n]) / base:13.2f}"
        )


if __name__ == "__main__":
    main()
