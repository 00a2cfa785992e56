"""Time the default-convention (cddfuse) metrics on the 640x480 reference triples, one core.

Per triple: the median wall and CPU time of ``ivifbench.compute`` (all 12 default metrics,
images already decoded), the same with the compiled kernels off (``kernels.reference_path()``,
the numpy path, timed in alternating blocks with it), and two ratios:

* against the reference evaluator's time for that triple, the sum of CDDFuse's per-metric
  ``seconds`` in ``values.csv`` (float32, as shipped, measured when the set was made);
* against a baseline measured in this run on the first triples: the same definitions written
  the direct way the evaluator computes them (2-D ``convolve2d`` windows, ``uniform_filter``,
  ``np.unique`` contingency, whole-image arrays). Its values are compared with ours as a check.

Then the defaults of the other conventions (``tang``, ``vifb``) in one call on the same
triples, compiled vs numpy path; on the first triple, the CPU milliseconds of every metric of
every convention alone, compiled vs numpy path (alternating blocks); and the one-off compile
time of the kernels (a fresh process with an empty numba cache).

Usage: ``python benchmarks/metrics.py [--repeats N] [--baseline-triples K]
[--keep-freed-memory]``. Needs ``../shared/refs``. ``--keep-freed-memory`` runs everything
with :func:`ivifbench.allocator.keep_freed_memory`, as the ``ivifbench`` commands do: numpy
temporaries then stop costing page faults, which speeds up mostly the numpy path (the
baseline) and the metrics without kernels.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core: set before numpy loads its BLAS

import argparse  # noqa: E402
import csv  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import uniform_filter  # noqa: E402
from scipy.signal import convolve2d  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ivifbench import compute  # noqa: E402
from ivifbench.allocator import keep_freed_memory  # noqa: E402
from ivifbench.conventions import CONVENTIONS  # noqa: E402
from ivifbench.metrics import kernels  # noqa: E402
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


#: Consecutive calls of one path before the other path's turn.
BLOCK = 3


def _timed(call, repeats: int) -> tuple[list[float], list[float], list[float], list[float]]:
    """Wall and CPU seconds of ``repeats`` calls of ``call()`` with the kernels and as many on
    the numpy path, in alternating blocks of :data:`BLOCK` consecutive calls (after one
    warm-up call of each): both paths see the same machine noise, and each runs back to back
    as ``ivifbench eval`` runs it, not with the caches just emptied by the other."""
    call()
    with kernels.reference_path():
        call()
    wall, cpu, ref_wall, ref_cpu = [], [], [], []
    for _ in range(-(-repeats // BLOCK)):
        for reference in (False, True):
            for _ in range(BLOCK):
                start, start_cpu = time.perf_counter(), time.process_time()
                if reference:
                    with kernels.reference_path():
                        call()
                else:
                    call()
                (ref_wall if reference else wall).append(time.perf_counter() - start)
                (ref_cpu if reference else cpu).append(time.process_time() - start_cpu)
    return wall, cpu, ref_wall, ref_cpu


COMPILE_SCRIPT = """
import time, numpy as np
start = time.perf_counter()
from ivifbench import CONVENTIONS, compute
im = [np.full((64, 64), 9, np.uint8)] * 3
for c in CONVENTIONS: compute(*im, convention=c)
print(time.perf_counter() - start)
"""


def compile_seconds() -> float:
    """Import + first ``compute`` of every convention in a fresh process with an empty numba
    cache: the one-off cost of compiling the kernels (later processes load them)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", COMPILE_SCRIPT], env=env, capture_output=True, text=True
        )
    return float(out.stdout.strip().splitlines()[-1])


def one_call_table(triples: list[list[np.ndarray]], repeats: int) -> None:
    """CPU ms of each non-default convention's default metrics in one ``compute`` call (as
    ``ivifbench eval`` and ``ivifbench metrics`` run them), median over the triples of the
    per-triple medians, compiled vs numpy path."""
    print(f"{'convention':<10} {'compiled ms':>11} {'numpy ms':>9} {'speed-up':>8}  (one call)")
    for convention, conv in CONVENTIONS.items():
        if convention == "cddfuse":
            continue  # the table above
        names = list(conv.default_metrics)
        fast, ref = [], []
        for images in triples:

            def call(images=images, convention=convention, names=names) -> None:
                compute(*images, metrics=names, convention=convention)

            _, cpu, _, ref_cpu = _timed(call, repeats)
            fast.append(statistics.median(cpu) * 1e3)
            ref.append(statistics.median(ref_cpu) * 1e3)
        fast_ms, ref_ms = statistics.median(fast), statistics.median(ref)
        print(
            f"{convention:<10} {fast_ms:11.2f} {ref_ms:9.2f} {ref_ms / fast_ms:7.1f}x  "
            f"(per triple {min(fast):.1f}-{max(fast):.1f} ms)"
        )


def per_metric_table(images: list[np.ndarray], repeats: int) -> None:
    """CPU ms of each metric of each convention alone, compiled vs numpy path."""
    print(f"{'convention':<10} {'metric':<6} {'compiled ms':>11} {'numpy ms':>9} {'speed-up':>8}")
    for convention, conv in CONVENTIONS.items():
        totals = [0.0, 0.0]
        for name in conv.implementations:
            _, cpu, _, ref_cpu = _timed(
                lambda name=name, c=convention: compute(*images, metrics=[name], convention=c),
                repeats,
            )
            fast, ref = statistics.median(cpu) * 1e3, statistics.median(ref_cpu) * 1e3
            if name in conv.default_metrics:
                totals[0] += fast
                totals[1] += ref
            print(f"{convention:<10} {name:<6} {fast:11.2f} {ref:9.2f} {ref / fast:7.1f}x")
        print(
            f"{convention:<10} {'sum of defaults':<6} {totals[0]:6.2f} {totals[1]:9.2f} "
            f"{totals[1] / totals[0]:7.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--baseline-triples", type=int, default=2)
    parser.add_argument("--keep-freed-memory", action="store_true")
    args = parser.parse_args()
    if args.keep_freed_memory and not keep_freed_memory():
        parser.error("--keep-freed-memory: this C library has no mallopt (glibc only)")
    cv2.setNumThreads(1)
    baseline = reference_seconds(REFS / "values.csv")
    names = list(CONVENTIONS["cddfuse"].default_metrics)
    print(
        f"metrics: {','.join(names)} (cddfuse), median of {args.repeats} runs, 1 thread, "
        f"freed memory {'kept (mallopt)' if args.keep_freed_memory else 'as glibc defaults'}"
    )
    print(
        f"{'triple':<24} {'wall ms':>8} {'cpu ms':>7} {'numpy ms':>8} {'ref ms':>7} {'vs ref':>7} "
        f"{'direct ms':>9} {'vs direct':>9} {'max rel diff':>12}"
    )
    walls, cpus, numpy_cpus, ratios, direct_ratios, triples = [], [], [], [], [], []
    folders = [
        folder
        for folder in sorted((REFS / "triples").iterdir())
        if read_image(folder / "fused.png").shape[:2] == (480, 640)
    ]
    for index, folder in enumerate(folders):
        images = [read_image(folder / f"{n}.png") for n in ("fused", "ir", "vis")]
        triples.append(images)
        values = compute(*images, metrics=names)
        wall, cpu, _, ref_cpu = _timed(
            lambda images=images: compute(*images, metrics=names), args.repeats
        )
        ours, ours_cpu = statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3
        numpy_cpu = statistics.median(ref_cpu) * 1e3
        ref = baseline[folder.name] * 1e3
        walls.append(ours)
        cpus.append(ours_cpu)
        numpy_cpus.append(numpy_cpu)
        ratios.append(ref / ours)
        line = (
            f"{folder.name:<24} {ours:8.1f} {ours_cpu:7.1f} {numpy_cpu:8.1f} {ref:7.0f} "
            f"{ref / ours:6.0f}x"
        )
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
        f"{statistics.median(numpy_cpus):8.1f} {'':>7} {statistics.median(ratios):6.0f}x "
        f"{'':>9} {statistics.median(direct_ratios) if direct_ratios else 0:8.0f}x"
    )
    print("target: <= 20 ms per 640x480 triple on one core (>= 100x the reference)")
    print(f"other conventions' defaults in one call ({len(triples)} triples):")
    one_call_table(triples, args.repeats)
    images = triples[0]
    print(f"CPU ms per metric alone ({folders[0].name}, incl. input checks):")
    per_metric_table(images, args.repeats)
    print(f"one-off kernel compile (fresh process, empty cache): {compile_seconds():.1f} s")


if __name__ == "__main__":
    main()
