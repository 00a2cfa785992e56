"""Full-image fusion speed: ``ivifmodels.fuse`` against the published procedure, same run.

The published procedure (written out below, as the released inference did it): every listed
tile (the repeated flush tile included), batches of 4, Python loops, per-tile float64
accumulation, and the network as published: contiguous (NCHW) tensors, unfolded BatchNorms,
fusion blocks on (B, HW, c) tokens with the gate multiplied into the hidden features
(:func:`published_fusion_block`), channel attention through its explicit q/k/v maps.
``ivifmodels.fuse`` computes each distinct tile once (63 instead of 70 tiles at 640x480), in batches
of 2 on CPU, with the network rewritten by ``ivifmodels.inference.prepare_for_inference``
(its cost is inside the timing) and the Gram form of the attention.

Runs are interleaved (published, ours, published, ours, ...) and the minimum and median wall time
of each are reported, with the maximum absolute difference of the fused maps.

    python benchmarks/fuse.py [--reps 3] [--batch N] [--threads N] [--stem 00004N]
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
import types
from pathlib import Path

import click
import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivifdata.imageio import read_image  # noqa: E402
from ivifmodels import load_released  # noqa: E402
from ivifmodels.blocks import ChannelAttention, EcaGate, FusionBlock  # noqa: E402
from ivifmodels.colour import network_gray  # noqa: E402
from ivifmodels.fuse import fuse_gray  # noqa: E402

DATA = ROOT / "tests" / "data" / "models"
FILES = {"cnn": "CNN.model", "transformer": "Trans.model", "gan": "GAN.model"}


def published_fusion_block(block: FusionBlock, x: torch.Tensor) -> torch.Tensor:
    """The fusion block as published: (B, HW, c) tokens, Linear - GELU - gate on the hidden
    features - Linear, back to (B, c, H, W)."""
    b, c, h, w = x.shape
    tokens = F.gelu(block.expand(x.flatten(2).transpose(1, 2)))  # (B, HW, hidden)
    if isinstance(block.gate, EcaGate):
        gate = torch.sigmoid(block.gate.conv(tokens.mean(dim=1, keepdim=True)))  # (B, 1, hidden)
    else:  # band gate: moving average along HW, band-masked Linear
        smooth = F.avg_pool1d(tokens.transpose(1, 2), 3, 1, 1).transpose(1, 2)
        gate = torch.sigmoid(F.linear(smooth, block.gate.linear.weight * block.gate.mask))
    return block.project(tokens * gate).transpose(1, 2).reshape(b, c, h, w)


def published_network(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` computing its fusion blocks and channel attention as published."""
    ref = copy.deepcopy(model)
    for module in ref.modules():
        if isinstance(module, ChannelAttention):
            module.gram = False
        if isinstance(module, FusionBlock):
            module.forward = types.MethodType(published_fusion_block, module)
    return ref


def published_fuse(model, ir: np.ndarray, vis: np.ndarray, tile=128, stride=64) -> np.ndarray:
    """The released inference loop: tiles in batches of 4, weighted average, sigma 0.3."""
    h, w = ir.shape
    ys = list(range(0, h - tile + 1, stride)) + [h - tile]
    xs = list(range(0, w - tile + 1, stride)) + [w - tile]
    g = np.linspace(-3, 3, tile)
    weight = np.exp(-(g[:, None] ** 2 + g[None, :] ** 2) / 2)
    acc = np.zeros((h, w))
    wsum = np.zeros((h, w))
    positions = [(y, x) for y in ys for x in xs]
    with torch.no_grad():
        for i in range(0, len(positions), 4):
            group = positions[i : i + 4]
            tiles = np.stack(
                [
                    np.stack([ir[y : y + tile, x : x + tile], vis[y : y + tile, x : x + tile]])
                    for y, x in group
                ]
            ).astype(np.float32)
            out = model(torch.from_numpy(tiles)).numpy()
            for (y, x), o in zip(group, out, strict=True):
                acc[y : y + tile, x : x + tile] += weight * o[0].astype(np.float64)
                wsum[y : y + tile, x : x + tile] += weight
    return gaussian_filter(acc / wsum, 0.3)


@click.command()
@click.option("--reps", default=3, show_default=True, help="Interleaved repetitions.")
@click.option("--batch", default=None, type=int, help="Tiles per pass [2 on CPU].")
@click.option("--threads", default=0, help="torch threads (0: torch's default).")
@click.option(
    "--models", "names", default="cnn,transformer,gan", show_default=True, help="Comma list."
)
@click.option("--stem", default="00004N", show_default=True, help="MSRS pair in tests/data/models.")
def main(reps: int, batch: int | None, threads: int, names: str, stem: str) -> None:
    """Seconds per 640x480 image on CPU for each model, published procedure vs ivifmodels.fuse."""
    if threads:
        torch.set_num_threads(threads)
    ir = network_gray(read_image(DATA / "msrs" / "ir" / f"{stem}.png")) / 255.0
    vis = network_gray(read_image(DATA / "msrs" / "vi" / f"{stem}.png")) / 255.0
    click.echo(
        f"{stem} {ir.shape[1]}x{ir.shape[0]}, CPU, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, reps {reps}, batch {batch or 'default'}"
    )
    click.echo(
        "model        published s/img (min/median)   ours s/img (min/median)   speed-up   max|diff|"
    )
    for name in names.split(","):
        file = FILES[name]
        model = load_released(name, DATA / "weights" / file)
        reference = published_network(model)
        times: dict[str, list[float]] = {"published": [], "ours": []}
        for _ in range(reps):
            t = time.perf_counter()
            ref_map = published_fuse(reference, ir, vis)
            times["published"].append(time.perf_counter() - t)
            t = time.perf_counter()
            our_map = fuse_gray(model, ir, vis, batch=batch)
            times["ours"].append(time.perf_counter() - t)
        pub, ours = times["published"], times["ours"]
        click.echo(
            f"{name:12s} {min(pub):8.2f} / {statistics.median(pub):8.2f}"
            f"          {min(ours):8.2f} / {statistics.median(ours):8.2f}"
            f"          {min(pub) / min(ours):5.2f}x   {np.abs(ref_map - our_map).max():.2e}"
        )


if __name__ == "__main__":
    main()
