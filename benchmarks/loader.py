"""Loader throughput: 128x128 gray pairs per second on one core, arbitrary pairing.

    python benchmarks/loader.py [--n 1600] [--pairs 320000] [--batch 64]

Builds a bank of N patches from synthetic 640x480 pairs, then times, in the same run,
(a) ``ivifdata.loader.PairStream`` serving arbitrarily paired batches (float32 in [0, 1]) and
(b) the plain alternative: ``webdataset.WebDataset`` over the same bank shards, decoding both
PNGs of every sample to float tensors. One thread (``torch.set_num_threads(1)``), no workers;
rates per wall second and per CPU second of the process (the one-core figure when the machine
is shared).
The N = 100,000 memory/disk check is ``python benchmarks/build.py --scale``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import webdataset as wds

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._synthetic import write_pairs  # noqa: E402
from benchmarks.build import recipe_data  # noqa: E402
from ivifdata.build import build  # noqa: E402
from ivifdata.loader import PairStream  # noqa: E402
from ivifdata.recipe import validate  # noqa: E402

TARGET = 20_000


def plain_webdataset(outdir: Path) -> tuple[float, float]:
    """Samples (IR+VIS patch pairs) per wall second and per CPU second decoded by a plain
    WebDataset pipeline."""
    urls = [str(p) for p in sorted(outdir.glob("patches-*.tar"))]
    start, cpu_start, count = time.perf_counter(), time.process_time(), 0
    for sample in wds.WebDataset(urls, shardshuffle=False):
        for field in ("ir.png", "vis.png"):
            image = cv2.imdecode(np.frombuffer(sample[field], np.uint8), cv2.IMREAD_UNCHANGED)
            torch.from_numpy(image).float().div_(255)
        count += 1
    return count / (time.perf_counter() - start), count / (time.process_time() - cpu_start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1600)
    parser.add_argument("--pairs", type=int, default=320_000)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_pairs(Path(tmp) / "data", -(-args.n // 15))
        out = Path(tmp) / "out"
        build(validate(recipe_data(root, args.n, "arbitrary"), root), out)
        start = time.perf_counter()
        stream = PairStream(out, args.batch)
        cache_s = time.perf_counter() - start
        served, epoch = 0, 0
        start, cpu_start = time.perf_counter(), time.process_time()
        while served < args.pairs:
            stream.set_epoch(epoch)
            for ir, _vis, _ids in stream:
                served += ir.shape[0]
                if served >= args.pairs:
                    break
            epoch += 1
        rate = served / (time.perf_counter() - start)
        cpu_rate = served / (time.process_time() - cpu_start)
        plain, plain_cpu = plain_webdataset(out)
    print(f"N = {args.n} patches, arbitrary pairing, batch {args.batch}, one thread")
    print(f"decoded cache built once in {cache_s:.2f} s")
    print("                       pairs/s (wall)  pairs/s (CPU time of this process)")
    print(f"PairStream           : {rate:12,.0f}  {cpu_rate:12,.0f}   over {served:,} pairs")
    print(f"plain WebDataset+PNG : {plain:12,.0f}  {plain_cpu:12,.0f}")
    print(f"loader / plain       : {rate / plain:12.1f}x {cpu_rate / plain_cpu:12.1f}x")
    print(f"loader / target {TARGET:,}: {rate / TARGET:8.2f}x {cpu_rate / TARGET:12.2f}x")
    print("(CPU-time rates are what one dedicated core gives; wall rates include waiting for a")
    print(" shared, loaded machine)")


if __name__ == "__main__":
    main()
