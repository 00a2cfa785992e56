"""Benchmark ``ivifdata scan`` against a plain read-and-hash loop over the same files.

Synthesises N (default 2,000) 640x480 pairs in a temporary generic layout (``ir/`` 8-bit gray
PNG, ``vi/`` colour PNG; 64 distinct pairs, cycled, so that synthesis stays fast), then times,
in this order and in the same process:

* ``loop``: for every file, read the bytes and sha256 them (nothing else) -- the baseline;
* ``scan`` with 1 and 2 workers, ``--check decode`` (the default: every pixel decoded) and
  ``--check header`` (headers and PNG chunk CRCs only).

Runs go round-robin ``--repeat`` times and the best time of each is kept (the machine may be
shared). Prints files/s and the ratio to the loop.
Usage: ``python benchmarks/scan.py [--pairs N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ivifdata.catalog import scan  # noqa: E402

WIDTH, HEIGHT = 640, 480
DISTINCT = 64


def synthesise(root: Path, pairs: int, seed: int = 0) -> list[Path]:
    """Write ``pairs`` IR/VIS PNG pairs (smooth scene + sensor noise) under root/{ir,vi}."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    encoded = []
    for k in range(min(DISTINCT, pairs)):
        scene = 128 + 60 * np.sin(x / (30 + k)) + 50 * np.cos(y / (20 + k % 7))
        ir = np.clip(scene + rng.normal(0, 6, scene.shape), 0, 255).astype(np.uint8)
        tint = rng.uniform(0.7, 1.2, 3).astype(np.float32)
        vis = np.clip(255 - scene[..., None] * tint + rng.normal(0, 6, (*scene.shape, 3)), 0, 255)
        encoded.append(
            (
                cv2.imencode(".png", ir)[1].tobytes(),
                cv2.imencode(".png", vis.astype(np.uint8))[1].tobytes(),
            )
        )
    (root / "ir").mkdir(parents=True)
    (root / "vi").mkdir()
    files = []
    for i in range(pairs):
        ir_bytes, vis_bytes = encoded[i % len(encoded)]
        for band, data in (("ir", ir_bytes), ("vi", vis_bytes)):
            path = root / band / f"{i:05d}.png"
            path.write_bytes(data)
            files.append(path)
    return files


def read_and_hash(files: list[Path]) -> float:
    """Seconds for the baseline loop: read every file and sha256 its bytes."""
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as fh:
            hashlib.sha256(fh.read()).hexdigest()
    return time.perf_counter() - start


def timed_scan(root: Path, workers: int, check: str) -> float:
    """Seconds for one ``scan`` of ``root`` (generic layout)."""
    start = time.perf_counter()
    result = scan(root, layout="generic", workers=workers, check=check)
    elapsed = time.perf_counter() - start
    assert len(result.problems) == 0, result.problems.head()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best time is kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ivif-scan-bench-") as tmp:
        root = Path(tmp) / "bench"
        files = synthesise(root, args.pairs)
        mb = sum(p.stat().st_size for p in files) / 1e6
        print(f"{len(files)} files, {mb:.0f} MB, {WIDTH}x{HEIGHT} PNG (ir gray, vi colour)")
        read_and_hash(files)  # warm the page cache so every run reads from memory
        runs = {"loop: read + sha256": lambda: read_and_hash(files)}
        for check in ("decode", "header"):
            for workers in (1, 2):
                runs[f"scan --check {check}, {workers} worker(s)"] = lambda c=check, w=workers: (
                    timed_scan(root, w, c)
                )
        best = {name: float("inf") for name in runs}
        for _ in range(args.repeat):  # round-robin, so a load change hits every run alike
            for name, run in runs.items():
                best[name] = min(best[name], run())
        loop = best["loop: read + sha256"]
        print(f"{'run (best of ' + str(args.repeat) + ')':<40} {'files/s':>9} {'x loop':>7}")
        for name, seconds in best.items():
            print(f"{name:<40} {len(files) / seconds:9.0f} {loop / seconds:7.2f}")


if __name__ == "__main__":
    main()
