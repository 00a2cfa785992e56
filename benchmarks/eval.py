"""Benchmark ``ivifbench eval``: 5 methods x 361 synthesised 640x480 triples, 2 workers.

Targets (issue 11): first run <= 30 s wall with 2 workers; a re-run with nothing new <= 2 s.

Prints, all measured in this run:

* baseline: a plain loop ``read_image`` x 3 + ``compute`` over a sample of triples in this
  process, wall and CPU seconds per triple, with the compiled kernels and on the numpy path
  (``kernels.reference_path()``: the metric code before the kernels);
* eval CPU: ``run_eval`` with 1 worker (in this process, so all its CPU is counted) over a subset
  of source pairs with every method, CPU seconds per triple (decode once per pair, compute,
  hashing, cache, CSV), its ratio to the baseline, and the wall time that gives on N free cores;
  three ways: numpy path, kernels without the shared source work, kernels with it (default);
* eval wall: the ``python -m ivifbench.cli eval`` command (start-up included) on everything
  with N workers and a fresh cache, then the same command again (nothing new).

On a shared machine the wall times depend on the other processes (the load average is printed
next to them); the CPU figures do much less. Run from the repository root, nice'd:
``nice -n 10 python benchmarks/eval.py [--images 361] [--methods 5] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from unittest import mock

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivifbench import __version__, compute  # noqa: E402
from ivifbench.computation import resolve_metrics  # noqa: E402
from ivifbench.conventions import get_convention  # noqa: E402
from ivifbench.eval import run_eval  # noqa: E402
from ivifbench.metrics import kernels  # noqa: E402
from ivifdata.imageio import read_image  # noqa: E402

HEIGHT, WIDTH = 480, 640


def smooth_noise(rng: np.random.Generator, cells: int) -> np.ndarray:
    """Random field in 0-1: ``cells`` x ``cells`` noise upsampled bicubically to 640x480."""
    coarse = rng.random((cells, cells * WIDTH // HEIGHT)).astype(np.float32)
    field = cv2.resize(coarse, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    return np.clip(field, 0.0, 1.0)


def synth_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An IR-like image (warm blobs on a dark, smooth background) and a textured VIS image."""
    ir = 40 + 60 * smooth_noise(rng, 6)
    for _ in range(rng.integers(2, 6)):
        cy, cx = rng.integers(0, HEIGHT), rng.integers(0, WIDTH)
        cv2.circle(
            ir, (int(cx), int(cy)), int(rng.integers(10, 50)), float(rng.uniform(180, 250)), -1
        )
    ir = cv2.GaussianBlur(ir, (0, 0), 3) + rng.normal(0, 3, ir.shape)
    vis = 255 * (0.6 * smooth_noise(rng, 24) + 0.4 * smooth_noise(rng, 80))
    return (np.clip(np.round(a), 0, 255).astype(np.uint8) for a in (ir, vis))


#: Five fusion rules standing in for five methods (uint8 in, uint8 out).
FUSION_RULES = {
    "mean": lambda a, b: ((a.astype(np.uint16) + b + 1) // 2).astype(np.uint8),
    "max": np.maximum,
    "weighted": lambda a, b: np.round(0.3 * a + 0.7 * b).astype(np.uint8),
    "blurred": lambda a, b: cv2.GaussianBlur(np.maximum(a, b), (5, 5), 1.5),
    "sharpened": lambda a, b: cv2.addWeighted(
        np.maximum(a, b), 1.5, cv2.GaussianBlur(np.maximum(a, b), (0, 0), 2), -0.5, 0
    ),
}


def synthesise(root: Path, images: int, methods: int) -> tuple[Path, Path, Path]:
    """Write ``images`` IR/VIS pairs and ``methods`` fused folders as PNG under ``root``."""
    ir_dir, vis_dir, results = root / "ir", root / "vis", root / "results"
    rules = dict(list(FUSION_RULES.items())[:methods])
    for folder in (ir_dir, vis_dir, *(results / name for name in rules)):
        folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    for index in range(images):
        ir, vis = synth_pair(rng)
        stem = f"{index:05d}"
        cv2.imwrite(str(ir_dir / f"{stem}.png"), ir)
        cv2.imwrite(str(vis_dir / f"{stem}.png"), vis)
        for name, rule in rules.items():
            cv2.imwrite(str(results / name / f"{stem}.png"), rule(ir, vis))
    return results, ir_dir, vis_dir


def baseline_per_triple(
    results: Path, ir_dir: Path, vis_dir: Path, sample: int, metrics: list[str]
) -> tuple[float, float]:
    """Median (wall, CPU) seconds of decode x 3 + compute of one triple, in this process."""
    method = sorted(results.iterdir())[0]
    stems = sorted(p.stem for p in ir_dir.iterdir())[: sample + 1]
    walls, cpus = [], []
    for stem in stems:
        wall, cpu = time.perf_counter(), time.process_time()
        fused, ir, vis = (read_image(d / f"{stem}.png") for d in (method, ir_dir, vis_dir))
        compute(fused, ir, vis, metrics=metrics)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls[1:]), statistics.median(cpus[1:])  # first: warm-up


def eval_cpu_per_triple(root: Path, pairs: int, metrics: list[str]) -> float:
    """CPU seconds per triple of ``run_eval`` (1 worker, no cache) on ``pairs`` source pairs."""
    subset = root / "subset"
    if not subset.exists():
        for folder in ("ir", "vis", *(f"results/{m.name}" for m in (root / "results").iterdir())):
            (subset / folder).mkdir(parents=True)
            for file in sorted((root / folder).iterdir())[:pairs]:
                os.symlink(file, subset / folder / file.name)
    (subset / "t.csv").unlink(missing_ok=True)
    cpu = time.process_time()
    summary = run_eval(
        subset / "results",
        subset / "ir",
        subset / "vis",
        subset / "t.csv",
        dataset="subset",
        convention="cddfuse",
        metrics=metrics,
        version=__version__,
        workers=1,
        cache_path=None,
        progress=False,
    )
    return (time.process_time() - cpu) / summary.evaluated


def timed_eval(
    results: Path, ir_dir: Path, vis_dir: Path, out: Path, workers: int, metrics: list[str]
) -> float:
    """Wall seconds of one ``ivifbench eval`` command (start-up included)."""
    command = [
        sys.executable,
        "-m",
        "ivifbench.cli",
        "eval",
        str(results),
        "--ir",
        str(ir_dir),
        "--vis",
        str(vis_dir),
        "--dataset",
        "synthetic",
        "--workers",
        str(workers),
        "--metrics",
        ",".join(metrics),
        "-o",
        str(out / "per_image.csv"),
        "--cache",
        str(out / "cache.sqlite"),
    ]
    start = time.perf_counter()
    subprocess.run(
        command, check=True, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def load() -> str:
    """The 1-minute load average, for reading the wall times."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=361)
    parser.add_argument("--methods", type=int, default=5, choices=range(1, 6))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=12, help="triples in the baseline loop")
    parser.add_argument("--pairs", type=int, default=24, help="source pairs in the CPU run")
    parser.add_argument(
        "--metrics", default=None, help="e.g. EN to time the plumbing alone [default: all]"
    )
    args = parser.parse_args()
    metrics = resolve_metrics(get_convention("cddfuse"), args.metrics)

    with tempfile.TemporaryDirectory(prefix="ivifbench-bench-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        results, ir_dir, vis_dir = synthesise(root / "data", args.images, args.methods)
        triples = args.images * args.methods
        print(
            f"synthesised {args.methods} methods x {args.images} pairs of {WIDTH}x{HEIGHT} "
            f"in {time.perf_counter() - start:.1f} s (not timed); metrics {','.join(metrics)}"
        )

        for label, path in (("numpy path", kernels.reference_path()), ("kernels", nullcontext())):
            with path:
                wall, cpu = baseline_per_triple(results, ir_dir, vis_dir, args.sample, metrics)
            print(
                f"baseline  plain loop, {label}: {1000 * wall:.1f} ms wall, {1000 * cpu:.1f} ms "
                f"CPU per triple (median of {args.sample}); x {triples} triples = "
                f"{cpu * triples:.1f} CPU s"
            )
        no_sharing = mock.patch("ivifbench.eval.shared_sources", nullcontext)
        for label, path in (
            ("numpy path", kernels.reference_path()),
            ("kernels, no shared source work", no_sharing),
            ("kernels + shared source work", nullcontext()),
        ):
            with path:
                eval_cpu = eval_cpu_per_triple(root / "data", args.pairs, metrics)
            print(
                f"eval CPU  1 worker, {args.pairs} pairs x {args.methods} methods, {label}: "
                f"{1000 * eval_cpu:.1f} ms CPU per triple = {eval_cpu / cpu:.2f} x kernel "
                f"baseline; {triples} triples on {args.workers} free cores: "
                f"{eval_cpu * triples / args.workers:.1f} s"
            )

        out = root / "out"
        out.mkdir()
        before = load()
        first = timed_eval(results, ir_dir, vis_dir, out, args.workers, metrics)
        print(
            f"eval wall first run, {args.workers} workers: {first:.1f} s ({triples / first:.1f} "
            f"triples/s; target <= 30 s) [{before} before, {load()} after]"
        )
        again = timed_eval(results, ir_dir, vis_dir, out, args.workers, metrics)
        print(
            f"eval wall re-run, nothing new: {again:.2f} s (target <= 2 s; first/re-run = "
            f"{first / again:.0f}x) [{load()}]"
        )


if __name__ == "__main__":
    main()
