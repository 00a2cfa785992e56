"""Throughput of the torch backend (``ivifbench.compute_batch``) against the numpy path.

One command prints, all measured in this run on synthesised 640x480 triples (IR gray, VIS RGB,
fused gray; fused RGB for ``vifb``, which evaluates per channel):

* baseline: ``ivifbench.compute`` (numpy with the compiled kernels, what ``eval`` uses without
  ``--device``), one triple at a time, triples/s in this process;
* ``compute_batch`` on ``--device`` at each batch size (default 1, 16, 64), triples/s, inputs
  given as host uint8 arrays (the host-to-device copy is included, as in ``eval --device``);
  on CUDA timed with CUDA events after a warm-up call, ``torch.cuda.synchronize()`` before
  reading them, and the peak device memory;
* the largest relative difference of the torch values from ``compute`` on the timed triples.

CPU figures use ``--threads`` torch threads (default 1: the numpy baseline is one thread too).
Usage: ``python benchmarks/torch_backend.py [--device cuda] [--convention cddfuse|tang|vifb]
[--batches 1,16,64] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._synthetic import _texture  # noqa: E402
from ivifbench import CONVENTIONS, compute, compute_batch  # noqa: E402
from ivifbench.errors import MetricInputError  # noqa: E402
from ivifbench.torch_backend import covered, resolve_device  # noqa: E402

HEIGHT, WIDTH = 480, 640


def triples(count: int, colour_fused: bool = False, seed: int = 0) -> list[np.ndarray]:
    """(fused, IR, VIS) stacks of ``count`` synthetic triples: uint8 (B, H, W), (B, H, W),
    (B, H, W, 3); the fused image is the mean of IR and the gray VIS, or with
    ``colour_fused`` (for ``vifb``) the mean of IR and each VIS channel."""
    rng = np.random.default_rng(seed)
    ir = np.stack([_texture(rng, HEIGHT, WIDTH) for _ in range(count)])
    vis = np.stack(
        [np.stack([_texture(rng, HEIGHT, WIDTH) for _ in range(3)], axis=2) for _ in range(count)]
    )
    if colour_fused:
        fused = (ir[..., np.newaxis].astype(np.uint16) + vis) // 2
    else:
        gray = np.stack([cv2.cvtColor(v, cv2.COLOR_RGB2GRAY) for v in vis])
        fused = (ir.astype(np.uint16) + gray) // 2
    return [fused.astype(np.uint8), ir, vis]


def numpy_rate(data: list[np.ndarray], metrics: list[str], convention: str, seconds: float):
    """(triples/s of ``compute`` one by one for about ``seconds``, cycling through the
    triples; the values of each distinct triple timed)."""
    values: list[dict[str, float]] = []
    done = 0
    start = time.perf_counter()
    while done == 0 or time.perf_counter() - start < seconds:
        k = done % len(data[0])
        result = compute(data[0][k], data[1][k], data[2][k], metrics, convention)
        if k == len(values):
            values.append(result)
        done += 1
    return done / (time.perf_counter() - start), values


def batch_seconds(batch: list[np.ndarray], metrics, convention, device: torch.device) -> float:
    """Seconds of one ``compute_batch`` call (CUDA: events around it, then a synchronize)."""
    if device.type != "cuda":
        start = time.perf_counter()
        compute_batch(*batch, metrics, convention, device)
        return time.perf_counter() - start
    begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    begin.record()
    compute_batch(*batch, metrics, convention, device)
    end.record()
    torch.cuda.synchronize(device)
    return begin.elapsed_time(end) / 1000.0


def largest_difference(got: dict[str, torch.Tensor], want: list[dict[str, float]]) -> float:
    """Largest relative difference of the torch values from ``compute`` (NaN must match)."""
    worst = 0.0
    for index, values in enumerate(want):
        for name, value in values.items():
            ours = float(got[name][index])
            if math.isnan(value) or math.isnan(ours):
                worst = max(worst, 0.0 if math.isnan(value) and math.isnan(ours) else math.inf)
            elif ours != value:
                worst = max(worst, abs(ours - value) / max(abs(value), 1e-300))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--convention", default="cddfuse", choices=list(CONVENTIONS))
    parser.add_argument("--batches", default="1,16,64", help="comma-separated batch sizes")
    parser.add_argument("--seconds", type=float, default=10.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    try:
        device = resolve_device(args.device)
    except MetricInputError as exc:
        parser.error(str(exc))  # exit 2 with the message, no traceback
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    sizes = [int(b) for b in args.batches.split(",")]
    metrics = covered(args.convention)
    data = triples(max(sizes), colour_fused=args.convention == "vifb")
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"{args.convention} defaults ({', '.join(metrics)}), {WIDTH}x{HEIGHT} triples; "
        f"device {device} ({where}), torch {torch.__version__}, {args.threads} CPU thread(s); "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    warnings.simplefilter("ignore")
    compute(data[0][0], data[1][0], data[2][0], metrics, args.convention)  # compile / warm up
    base, want = numpy_rate(data, metrics, args.convention, args.seconds)
    print(f"numpy path (compute, one at a time): {base:8.2f} triples/s")
    for size in sizes:
        batch = [x[:size] for x in data]
        got = compute_batch(*batch, metrics, args.convention, device)  # warm-up, checked below
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        spent, calls = 0.0, 0
        while calls == 0 or spent < args.seconds:
            spent += batch_seconds(batch, metrics, args.convention, device)
            calls += 1
        rate = size * calls / spent
        memory = (
            f", peak {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB"
            if device.type == "cuda"
            else ""
        )
        difference = largest_difference(got, want[:size])
        print(
            f"compute_batch batch {size:3d}: {rate:8.2f} triples/s = {rate / base:6.2f} x numpy  "
            f"({calls} call(s){memory}; max rel diff vs compute {difference:.1e} on "
            f"{min(size, len(want))} triple(s); load {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
