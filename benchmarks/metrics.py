"""Time the default-convention (cddfuse) metrics on the 640x480 reference triples, one core.

Per triple: the median wall and CPU time of ``ivifbench.compute`` (all 12 default metrics,
images already decoded), and two ratios:

* against the reference evaluator's time for that triple, the sum of CDDFuse's per-metric
  ``seconds`` in ``values.csv`` (float32, as shipped, measured when the set was made);
* against a baseline measured in this run on the first triples: the same definitions written
  the direct way the evaluator computes them (2-D ``convolve2d`` windows, ``uniform_filter``,
  ``np.unique`` contingency, whole-image arrays). Its values are compared with ours as a check.

Usage: ``python benchmarks/metrics.py [--repeats N] [--baseline-triples K]``.
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
import numpy as np  # noqa: E402
from scipy.ndimage import uniform_filter  # noqa: E402
from scipy.signal import convolve2d  # noqa: E402

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


def _direct_vifp(ref: np.ndarray, dist: np.ndarray) -> float:
    """Sheikh's VIFp with 2-D windows and whole-array masks, as the reference code."""
    num = den = 0.0
    for scale, size in enumerate((17, 9, 5, 3)):
        x = np.arange(size) - (size - 1) / 2
        window = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * (size / 5) ** 2))
        window /= window.sum()
        if scale:
            ref = convolve2d(ref, window, mode="valid")[::2, ::2]
            dist = convolve2d(dist, window, mode="valid")[::2, ::2]
        mu1, mu2 = convolve2d(ref, window, mode="valid"), convolve2d(dist, window, mode="valid")
        s1 = np.maximum(convolve2d(ref * ref, window, mode="valid") - mu1 * mu1, 0)
        s2 = np.maximum(convolve2d(dist * dist, window, mode="valid") - mu2 * mu2, 0)
        s12 = convolve2d(ref * dist, window, mode="valid") - mu1 * mu2
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        g[s1 < 1e-10], sv[s1 < 1e-10], s1[s1 < 1e-10] = 0, s2[s1 < 1e-10], 0
        g[s2 < 1e-10], sv[s2 < 1e-10] = 0, 0
        sv[g < 0], g[g < 0] = s2[g < 0], 0
        sv[sv <= 1e-10] = 1e-10
        num += np.sum(np.log10(1 + g * g * s1 / (sv + 2)))
        den += np.sum(np.log10(1 + s1 / 2))
    return num / den


def _direct_qabf(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    def edges(img):
        sx = convolve2d(img, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], mode="same")
        sy = convolve2d(img, [[1, 2, 1], [0, 0, 0], [-1, -2, -1]], mode="same")
        angle = np.where(sx == 0, np.pi / 2, np.arctan(sy / np.where(sx == 0, 1, sx)))
        return np.sqrt(sx**2 + sy**2), angle

    def q(gs, as_, gf, af):
        ratio = np.where(gs > gf, gf / np.where(gs == 0, 1, gs), np.where(gs == gf, gf, gs / gf))
        orient = 1 - np.abs(as_ - af) / (np.pi / 2)
        return (
            0.9994 / (1 + np.exp(-15 * (ratio - 0.5))) * 0.9879 / (1 + np.exp(-22 * (orient - 0.8)))
        )

    (gf, af), (ga, aa), (gb, ab) = edges(f), edges(a), edges(b)
    return np.sum(q(ga, aa, gf, af) * ga + q(gb, ab, gf, af) * gb) / np.sum(ga + gb)


def _direct_ssim(x: np.ndarray, y: np.ndarray) -> float:
    mx, my = uniform_filter(x, 7), uniform_filter(y, 7)
    vx = (uniform_filter(x * x, 7) - mx * mx) * 49 / 48
    vy = (uniform_filter(y * y, 7) - my * my) * 49 / 48
    cxy = (uniform_filter(x * y, 7) - mx * my) * 49 / 48
    c1, c2 = (0.01 * 2) ** 2, (0.03 * 2) ** 2
    s = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s[3:-3, 3:-3].mean()


def _direct_mi(x: np.ndarray, y: np.ndarray) -> float:
    _, xi = np.unique(x, return_inverse=True)
    _, yi = np.unique(y, return_inverse=True)
    joint = np.zeros((xi.max() + 1, yi.max() + 1))
    np.add.at(joint, (xi.ravel(), yi.ravel()), 1)
    p = joint / joint.sum()
    outer = p.sum(1)[:, None] * p.sum(0)[None, :]
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / outer[nz])))


def direct_cddfuse(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The 12 cddfuse metrics computed the direct way (the same-run baseline)."""
    hist = np.bincount(f.astype(np.uint8).ravel(), minlength=256) / f.size
    gy, gx = np.gradient(f)
    mse = (np.mean((a - f) ** 2) + np.mean((b - f) ** 2)) / 2
    return {
        "EN": -np.sum(hist * np.log2(hist + (hist == 0))),
        "SD": np.std(f),
        "SF": np.sqrt(np.mean(np.diff(f, axis=1) ** 2) + np.mean(np.diff(f, axis=0) ** 2)),
        "AG": np.mean(np.sqrt((gx**2 + gy**2) / 2)),
        "MI": _direct_mi(f, a) + _direct_mi(f, b),
        "VIF": _direct_vifp(a, f) + _direct_vifp(b, f),
        "Qabf": _direct_qabf(f, a, b),
        "SSIM": _direct_ssim(f, a) + _direct_ssim(f, b),
        "SCD": np.corrcoef((f - b).ravel(), a.ravel())[0, 1]
        + np.corrcoef((f - a).ravel(), b.ravel())[0, 1],
        "CC": (np.corrcoef(a.ravel(), f.ravel())[0, 1] + np.corrcoef(b.ravel(), f.ravel())[0, 1])
        / 2,
        "PSNR": 10 * np.log10(np.max(f) ** 2 / mse),
        "MSE": mse,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--baseline-triples", type=int, default=2)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    baseline = reference_seconds(REFS / "values.csv")
    names = list(CONVENTIONS["cddfuse"].default_metrics)
    print(f"metrics: {','.join(names)} (cddfuse), median of {args.repeats} runs, 1 thread")
    print(
        f"{'triple':<24} {'wall ms':>8} {'cpu ms':>7} {'ref ms':>7} {'vs ref':>7} "
        f"{'direct ms':>9} {'vs direct':>9} {'max rel diff':>12}"
    )
    walls, cpus, ratios, direct_ratios = [], [], [], []
    folders = [
        folder
        for folder in sorted((REFS / "triples").iterdir())
        if read_image(folder / "fused.png").shape[:2] == (480, 640)
    ]
    for index, folder in enumerate(folders):
        images = [read_image(folder / f"{n}.png") for n in ("fused", "ir", "vis")]
        values = compute(*images, metrics=names)  # also the warm-up
        wall, cpu = [], []
        for _ in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            compute(*images, metrics=names)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        ours, ours_cpu = statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3
        ref = baseline[folder.name] * 1e3
        walls.append(ours)
        cpus.append(ours_cpu)
        ratios.append(ref / ours)
        line = f"{folder.name:<24} {ours:8.1f} {ours_cpu:7.1f} {ref:7.0f} {ref / ours:6.0f}x"
        if index < args.baseline_triples:
            planes = [image.astype(np.float64) for image in images]
            start = time.perf_counter()
            with np.errstate(all="ignore"):
                direct = direct_cddfuse(*planes)
            direct_ms = (time.perf_counter() - start) * 1e3
            direct_ratios.append(direct_ms / ours)
            worst = max(abs(values[k] - direct[k]) / abs(direct[k]) for k in names)
            line += f" {direct_ms:9.0f} {direct_ms / ours:8.0f}x {worst:12.1e}"
        print(line)
    print(
        f"{'median':<24} {statistics.median(walls):8.1f} {statistics.median(cpus):7.1f} "
        f"{'':>7} {statistics.median(ratios):6.0f}x "
        f"{'':>9} {statistics.median(direct_ratios) if direct_ratios else 0:8.0f}x"
    )
    print("target: <= 20 ms per 640x480 triple on one core (>= 100x the reference)")
    images = [read_image(folders[0] / f"{n}.png") for n in ("fused", "ir", "vis")]
    cells = []
    for name in names:
        cpu = []
        for _ in range(args.repeats):
            start_cpu = time.process_time()
            compute(*images, metrics=[name])
            cpu.append(time.process_time() - start_cpu)
        cells.append(f"{name} {statistics.median(cpu) * 1e3:.1f}")
    print(f"CPU ms per metric alone ({folders[0].name}, incl. input checks): " + ", ".join(cells))


if __name__ == "__main__":
    main()
