"""Time the default-convention (cddfuse) metrics on the 640x480 reference triples, one core.

Prints, per triple, the median wall time of ``ivifbench.compute`` (all 12 default metrics,
images already decoded) and the ratio against the reference evaluator's time for the same
triple: the sum of CDDFuse's per-metric ``seconds`` in ``values.csv`` (float32, as shipped),
measured on this machine class. Usage: ``python benchmarks/metrics.py [--repeats N]``.
Needs ``../shared/refs``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core: set before numpy loads its BLAS

import argparse  # noqa: E402
import csv  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ivifbench import compute  # noqa: E402
from ivifbench.conventions import CONVENTIONS  # noqa: E402
from ivifdata.imageio import read_image  # noqa: E402

REFS = Path(__file__).resolve().parents[1] / ".." / "shared" / "refs"


def reference_seconds(values_csv: Path) -> dict[str, float]:
    """Sum of the shipped CDDFuse evaluator's per-metric seconds, per triple."""
    totals: dict[str, float] = defaultdict(float)
    with values_csv.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["reference"] == "cddfuse":
                totals[row["triple"]] += float(row["seconds"])
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    baseline = reference_seconds(REFS / "values.csv")
    names = list(CONVENTIONS["cddfuse"].default_metrics)
    print(f"metrics: {','.join(names)} (cddfuse), median of {args.repeats} runs, 1 thread")
    print(f"{'triple':<28} {'ours ms':>8} {'ref ms':>8} {'speed-up':>9}")
    ours_all, ratios = [], []
    for folder in sorted((REFS / "triples").iterdir()):
        images = [read_image(folder / f"{n}.png") for n in ("fused", "ir", "vis")]
        if images[0].shape[:2] != (480, 640):
            continue
        compute(*images, metrics=names)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            compute(*images, metrics=names)
            times.append(time.perf_counter() - start)
        ours = statistics.median(times) * 1e3
        ref = baseline[folder.name] * 1e3
        ours_all.append(ours)
        ratios.append(ref / ours)
        print(f"{folder.name:<28} {ours:8.1f} {ref:8.0f} {ref / ours:8.0f}x")
    print(
        f"{'median':<28} {statistics.median(ours_all):8.1f} {'':>8} "
        f"{statistics.median(ratios):8.0f}x  (target <= 20 ms, >= 100x)"
    )


if __name__ == "__main__":
    main()
