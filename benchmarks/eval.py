"""Benchmark ``ivifbench eval``: 5 methods x 361 synthesised 640x480 triples, 2 workers.

Targets (issue 3): first run <= 60 s wall with 2 workers; a re-run with nothing new <= 5 s.

Prints, all measured in this run:

* the serial baseline: decode + ``compute`` of one triple in this process (median of a sample),
  times the number of triples = what a plain loop would take;
* the first eval (``python -m ivifbench.cli eval``, fresh cache) and the re-run, as wall time of
  the whole command (interpreter start-up included), with the ratio to the serial baseline.

Run from the repository root, nice'd on a shared machine:
``nice -n 10 python benchmarks/eval.py [--images 361] [--methods 5] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivifbench import compute  # noqa: E402
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


def serial_seconds_per_triple(
    results: Path, ir_dir: Path, vis_dir: Path, sample: int, metrics: str | None
) -> float:
    """Median wall time of decode + compute (default convention) of one triple, this process."""
    method = sorted(p for p in results.iterdir())[0]
    stems = sorted(p.stem for p in ir_dir.iterdir())[:sample]
    times = []
    for stem in stems:
        start = time.perf_counter()
        fused, ir, vis = (read_image(d / f"{stem}.png") for d in (method, ir_dir, vis_dir))
        compute(fused, ir, vis, metrics=metrics)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:] if len(times) > 1 else times)


def timed_eval(
    results: Path, ir_dir: Path, vis_dir: Path, out: Path, workers: int, metrics: str | None
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
        "-o",
        str(out / "per_image.csv"),
        "--cache",
        str(out / "cache.sqlite"),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=Path(__file__).resolve().parents[1])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=361)
    parser.add_argument("--methods", type=int, default=5, choices=range(1, 6))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=12, help="triples timed for the baseline")
    parser.add_argument(
        "--metrics", default=None, help="e.g. EN to time the plumbing alone [default: all]"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ivifbench-bench-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        results, ir_dir, vis_dir = synthesise(root / "data", args.images, args.methods)
        triples = args.images * args.methods
        print(
            f"synthesised {args.methods} methods x {args.images} triples of {WIDTH}x{HEIGHT} "
            f"in {time.perf_counter() - start:.1f} s (not timed below)"
        )

        per_triple = serial_seconds_per_triple(results, ir_dir, vis_dir, args.sample, args.metrics)
        baseline = per_triple * triples
        print(
            f"baseline  serial decode+compute: {1000 * per_triple:.1f} ms/triple (median of "
            f"{args.sample}) x {triples} = {baseline:.1f} s"
        )

        out = root / "out"
        out.mkdir()
        first = timed_eval(results, ir_dir, vis_dir, out, args.workers, args.metrics)
        print(
            f"eval      first run, {args.workers} workers: {first:.1f} s wall "
            f"({triples / first:.1f} triples/s; baseline/eval = {baseline / first:.2f}x; "
            "target <= 60 s)"
        )
        again = timed_eval(results, ir_dir, vis_dir, out, args.workers, args.metrics)
        print(
            f"eval      re-run, nothing new: {again:.2f} s wall "
            f"(baseline/re-run = {baseline / again:.0f}x; target <= 5 s)"
        )


if __name__ == "__main__":
    main()
