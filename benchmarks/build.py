"""Build throughput against a plain decode -> crop -> PNG-encode loop over the same images.

    python benchmarks/build.py [--pairs 60] [--workers 1]
    python benchmarks/build.py --scale        # N = 100,000 patches, arbitrary pairing

Both sides use one process (unless --workers), the same gray decoder, the same 128x128 grid and
the same PNG level. The build is timed twice: its patch phases alone (staging + shards + index,
which is what the plain loop does) and end to end (including the catalog scan, which decodes and
hashes every source once more). ``--scale`` runs the N = 100,000 check: it builds, then streams
pairs through the loader, each in a child process, and reports peak resident memory and disk.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._synthetic import write_pairs  # noqa: E402
from ivifdata.build import build  # noqa: E402
from ivifdata.imageio import read_gray  # noqa: E402
from ivifdata.recipe import validate  # noqa: E402
from ivifdata.shardformat import read_bank_index  # noqa: E402

PATCH, LEVEL = 128, 1


def recipe_data(root: Path, n: int | str, mode: str, ratio: float = 100) -> dict:
    return {
        "name": "bench",
        "data_dir": str(root),
        "ir": {"root": ".", "layout": "generic"},
        "vis": {"root": ".", "layout": "generic"},
        "patch": {"size": PATCH, "stride": PATCH, "min_std": 0},
        "subset": {"n": n, "seed": 0},
        "pairing": {"mode": mode, "ratio": ratio, "epochs": 1},
        "shards": {"samples_per_shard": 1000, "png_compression": LEVEL},
    }


def plain_loop(root: Path) -> tuple[float, int]:
    """Decode every pair, crop the grid, PNG-encode every patch; (seconds, patches)."""
    start = time.perf_counter()
    count = 0
    for ir_path in sorted((root / "ir").iterdir()):
        for image in (read_gray(ir_path), read_gray(root / "vi" / ir_path.name)):
            h, w = image.shape
            for y in range(0, h - PATCH + 1, PATCH):
                for x in range(0, w - PATCH + 1, PATCH):
                    ok, _ = cv2.imencode(
                        ".png",
                        image[y : y + PATCH, x : x + PATCH],
                        [cv2.IMWRITE_PNG_COMPRESSION, LEVEL],
                    )
                    count += ok
    return time.perf_counter() - start, count


def throughput(pairs: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_pairs(Path(tmp) / "data", pairs)
        plain_s, patches = plain_loop(root)
        recipe = validate(recipe_data(root, "all", "strict", 1), root)
        start = time.perf_counter()
        record = build(recipe, Path(tmp) / "out", workers=workers).record
        total_s = time.perf_counter() - start
        t = record["timings_s"]
        patch_s = t["patches_s"] + t["bank_s"]
        print(
            f"{pairs} pairs 640x480 -> {record['n']} patch pairs ({patches} PNGs), "
            f"workers={workers}"
        )
        print(f"plain decode->crop->encode loop : {patches / plain_s:8.0f} patches/s")
        print(
            f"build, patch phases             : {patches / patch_s:8.0f} patches/s  "
            f"ratio {plain_s / patch_s:.2f}x (target >= 0.8x)"
        )
        print(
            f"build, end to end (with scan)   : {patches / total_s:8.0f} patches/s  "
            f"ratio {plain_s / total_s:.2f}x"
        )


LOADER_CHILD = """
import resource, sys, time, torch
torch.set_num_threads(1)
from ivifdata.loader import PairStream
start = time.perf_counter()
stream = PairStream(sys.argv[1], 64)
cache_s = time.perf_counter() - start
count, start, cpu = 0, time.perf_counter(), time.process_time()
for ir, vis, ids in stream:
    count += ir.shape[0]
    if count >= int(sys.argv[2]):
        break
rate = count / (time.perf_counter() - start)
cpu_rate = count / (time.process_time() - cpu)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(f"{cache_s:.1f} {rate:.0f} {cpu_rate:.0f} {peak:.2f} {stream.bank.cache_path.stat().st_size}")
"""

BUILD_CHILD = """
import json, resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from benchmarks.build import recipe_data
from ivifdata.build import build
from ivifdata.recipe import validate
root = Path(sys.argv[1])
record = build(validate(recipe_data(root, 100_000, "arbitrary"), root), sys.argv[2]).record
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"peak_gib": peak, "n": record["n"], "timings": record["timings_s"]}))
"""


def scale(workdir: Path) -> None:
    repo = str(Path(__file__).resolve().parents[1])
    root = workdir / "data"
    if not (root / "vi").is_dir() or len(list((root / "vi").iterdir())) < 1250:
        start = time.perf_counter()
        write_pairs(root, 1250, 1280, 1024, colour_vis=False)  # 80 patches each: 100,000
        print(f"synthesised 1,250 pairs of 1280x1024 in {time.perf_counter() - start:.0f} s")
    out = workdir / "out"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", BUILD_CHILD, str(root), str(out), repo],
        capture_output=True,
        text=True,
        check=True,
        cwd=repo,
    )
    info = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"build N={info['n']:,} arbitrary: {time.perf_counter() - start:.0f} s, "
        f"peak RSS {info['peak_gib']:.2f} GiB (limit 2), phases {info['timings']}"
    )
    bank = sum(s.filesize for s in read_bank_index(out).shards)
    files = [p for p in out.iterdir() if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    raw = info["n"] * 2 * PATCH * PATCH
    print(
        f"disk: bank shards {bank / 2**20:,.1f} MiB, output folder {total / 2**20:,.1f} MiB "
        f"({total / bank:.4f}x the bank, limit 1.10x); raw pixels {raw / 2**20:,.1f} MiB"
    )
    done = subprocess.run(
        [sys.executable, "-c", LOADER_CHILD, str(out), "1000000"],
        capture_output=True,
        text=True,
        check=True,
        cwd=repo,
    )
    cache_s, rate, cpu_rate, peak, cache_bytes = done.stdout.split()
    print(
        f"loader: decoded cache built in {cache_s} s ({int(cache_bytes) / 2**20:,.0f} MiB, "
        f"outside the build output), {float(rate):,.0f} pairs/s wall "
        f"({float(cpu_rate):,.0f} per CPU second) over 1,000,000 pairs, "
        f"peak RSS {float(peak):.2f} GiB (limit 2)"
    )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"largest child peak RSS {children:.2f} GiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=60)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scale", action="store_true", help="run the N = 100,000 check")
    parser.add_argument("--workdir", type=Path, default=None, help="keep scale data here")
    args = parser.parse_args()
    if args.scale:
        if args.workdir:
            scale(args.workdir)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                scale(Path(tmp))
    else:
        throughput(args.pairs, args.workers)


if __name__ == "__main__":
    main()
