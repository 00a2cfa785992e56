"""Time the metrics pinned in ``tests/references`` (Q0, Qw, Qe, Qy, Qc, NCIE, TE, MS_SSIM and
the four FMI variants) against the slowest metric that existed before them, on the 640x480
reference triples, one core.

Per metric: the median wall and CPU milliseconds per call (float64 planes already decoded;
medians over calls, then over triples), the ratio of CPU times to the slowest (by CPU time) of
the earlier metrics timed the same way in this run (the issue's bar: at most 3x; CPU time is
the steadier measure on a shared machine), and the ratio of the Octave reference's
own time (``seconds`` in ``tests/references/*_values.csv``, measured when they were made; none
for FMI, whose reference values are on 24 x 24 crops).

Usage: ``python benchmarks/metrics_toolboxes.py [--repeats N] [--only FMI_pixel,...]``. Needs
``../shared/refs``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core: set before numpy loads its BLAS

import argparse  # noqa: E402
import csv  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.metrics_extra import timed  # noqa: E402
from ivifbench.conventions import CONVENTIONS  # noqa: E402
from ivifbench.toolbox_names import (  # noqa: E402
    LIU_TOOLBOX_METRICS,
    TANG_EXTRA_METRICS,
    TANG_FMI_METRICS,
)
from ivifdata.imageio import read_image  # noqa: E402

REFS = ROOT / ".." / "shared" / "refs"
#: The new metrics, timed under ``tang`` (the Liu metrics are the same function everywhere).
NEW = dict.fromkeys(
    [*LIU_TOOLBOX_METRICS.values(), *TANG_EXTRA_METRICS.values(), *TANG_FMI_METRICS.values()],
    "tang",
)
#: Metrics whose recorded Octave time is for the whole image (FMI's is for crops).
WHOLE_IMAGE_OCTAVE = {*LIU_TOOLBOX_METRICS.values(), *TANG_EXTRA_METRICS.values()}


def octave_seconds(triples: list[str]) -> dict[str, float]:
    """Median recorded Octave seconds per metric over the given triples."""
    seconds: dict[str, list[float]] = {}
    for values in sorted((ROOT / "tests" / "references").glob("*_values.csv")):
        with values.open(newline="") as fh:
            for row in csv.DictReader(fh):
                if row["triple"] in triples and row["seconds"]:
                    seconds.setdefault(row["metric"], []).append(float(row["seconds"]))
    return {name: statistics.median(v) for name, v in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", help="comma-separated subset of the new metrics to time")
    args = parser.parse_args()
    new = NEW if not args.only else {name: NEW[name] for name in args.only.split(",")}
    cv2.setNumThreads(1)
    folders = [
        folder
        for folder in sorted((REFS / "triples").iterdir())
        if read_image(folder / "fused.png").shape == (480, 640)
    ]
    planes = [
        tuple(read_image(folder / f"{n}.png").astype(np.float64) for n in ("fused", "ir", "vis"))
        for folder in folders
    ]

    def median_ms(convention: str, name: str) -> tuple[float, float]:
        impl = CONVENTIONS[convention].implementations[name]
        runs = [timed(lambda p=p: impl(*p), args.repeats) for p in planes]
        return statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs)

    print(f"{len(folders)} gray 640x480 triples, median of {args.repeats} calls, 1 thread")
    earlier = {
        (c.name, name): median_ms(c.name, name)
        for c in CONVENTIONS.values()
        for name in c.implementations
        if name not in NEW
    }
    (slow_conv, slow_name), (slow_wall, slowest) = max(earlier.items(), key=lambda kv: kv[1][1])
    print(f"slowest earlier: {slow_name} ({slow_conv}) {slow_wall:.2f} ms, cpu {slowest:.2f} ms")
    recorded = octave_seconds([folder.name for folder in folders])
    print(
        f"{'metric':<9} {'wall ms':>8} {'cpu ms':>7} {'vs slowest':>10} "
        f"{'octave ms':>9} {'vs oct':>7}"
    )
    for name, convention in new.items():
        wall, cpu = median_ms(convention, name)
        octave = 1e3 * recorded.get(name, float("nan")) if name in WHOLE_IMAGE_OCTAVE else math.nan
        print(
            f"{name:<9} {wall:8.2f} {cpu:7.2f} {cpu / slowest:9.2f}x {octave:9.0f} "
            f"{octave / wall:6.0f}x"
        )


if __name__ == "__main__":
    main()
