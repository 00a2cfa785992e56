"""Full-image fusion by overlapping tiles, exactly as the paper's released inference did it.

Procedure (``docs/models.md``), for an IR and a VIS image of the same size H x W in [0, 1]:

1. Tile origins along each axis: ``0, stride, 2*stride, ...`` while a tile fits, then
   ``length - tile`` (always appended, as published: when the last regular tile is already
   flush, that tile is counted twice; for 640 x 480 the column origin 512 has weight 2).
2. Each tile ``cat([IR, VIS])`` goes through the network in float32 (batched; repeated tiles are
   computed once and weighted by their count), as rewritten by
   :func:`~ivifmodels.inference.prepare_for_inference` (same outputs up to float32 rounding).
3. Tile outputs are blended in float64 by a weighted average with weights ``exp(-d^2 / 2)``,
   d the distance from the tile centre on a ``linspace(-3, 3, tile)`` grid in both axes.
4. ``scipy.ndimage.gaussian_filter(sigma=0.3)`` (reflect borders) on the blended map.

Sizes: an axis shorter than ``tile`` is first padded at its end (bottom / right) to ``tile`` by
mirroring (``numpy.pad(mode="symmetric")``), and the blended map is cropped back before step 4.
Axes of at least ``tile`` pixels are never padded, so any H, W >= tile (e.g. 640 x 480) follows
the published procedure exactly; ``tile`` must be a multiple of 4 (the networks halve twice).

The result is the blended map (float64, network units: Tanh output, nominally [0, 1]).
:func:`to_uint8` turns it into an 8-bit image: ``stretch`` = the published min-max save,
``clip`` = ``round(255 * clip(map, 0, 1))``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

from .colour import network_gray, restore_chroma
from .inference import prepare_for_inference
from .names import OUTPUT_MODES

#: Standard deviation (pixels) of the final Gaussian filter of the published inference.
FINAL_SIGMA = 0.3

#: Tiles per forward pass when none is given, by device type (fastest measured on a 2-core CPU;
#: larger CPU batches were slower, see docs/models.md).
DEFAULT_BATCH = {"cpu": 2, "cuda": 64}


def tile_origins(length: int, tile: int, stride: int) -> list[int]:
    """Published tile origins along one axis of ``length >= tile`` pixels (may repeat the last)."""
    if length < tile:
        raise ValueError(f"axis of {length} px is shorter than the tile ({tile} px); pad first")
    return [*range(0, length - tile + 1, stride), length - tile]


def tile_weight(tile: int) -> np.ndarray:
    """(tile, tile) float64 blending weights exp(-d^2/2) on a linspace(-3, 3, tile)^2 grid."""
    g = np.linspace(-3.0, 3.0, tile)
    return np.exp(-(g[:, None] ** 2 + g[None, :] ** 2) / 2.0)


def check_tiling(tile: int, stride: int) -> None:
    """Raise ValueError unless tile is a positive multiple of 4 and 1 <= stride <= tile."""
    if tile < 4 or tile % 4:
        raise ValueError(f"tile must be a positive multiple of 4, got {tile}")
    if not 1 <= stride <= tile:
        raise ValueError(f"stride must be between 1 and the tile size {tile}, got {stride}")


def _pad_to_tile(img: np.ndarray, tile: int) -> np.ndarray:
    """Mirror-pad the bottom / right of a (H, W) image so that both axes are >= tile."""
    ph, pw = max(0, tile - img.shape[0]), max(0, tile - img.shape[1])
    if ph == 0 and pw == 0:
        return img
    return np.pad(img, ((0, ph), (0, pw)), mode="symmetric")


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@torch.inference_mode()
def blend_tiles(
    model: nn.Module,
    ir: np.ndarray,
    vis: np.ndarray,
    *,
    tile: int = 128,
    stride: int = 64,
    batch: int | None = None,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Steps 1-3: the weighted average of the tile outputs, (H, W) float64.

    ``ir`` and ``vis`` are (H, W) arrays in [0, 1] with H, W >= tile (see :func:`fuse_gray`);
    ``batch`` tiles per forward pass (None: :data:`DEFAULT_BATCH` of the device type).
    """
    h, w = ir.shape
    stack = np.stack([ir, vis]).astype(np.float32)  # (2, H, W), the network's input dtype
    ys, xs = tile_origins(h, tile, stride), tile_origins(w, tile, stride)
    counts = Counter((y, x) for y in ys for x in xs)  # row-major; repeated tiles counted
    weight = tile_weight(tile)
    acc = np.zeros((h, w), np.float64)
    wsum = np.zeros((h, w), np.float64)
    if batch is None:
        batch = DEFAULT_BATCH.get(torch.device(device).type, 2)
    fast = prepare_for_inference(model)  # folded BatchNorms, channels-last
    for group in _batches(list(counts), batch):
        x = torch.from_numpy(np.stack([stack[:, y : y + tile, x : x + tile] for y, x in group]))
        x = x.to(device, memory_format=torch.channels_last)
        out = fast(x).float().cpu().numpy()[:, 0].astype(np.float64)
        for (y, x), o in zip(group, out, strict=True):
            wk = weight * counts[(y, x)]
            acc[y : y + tile, x : x + tile] += wk * o
            wsum[y : y + tile, x : x + tile] += wk
    return acc / wsum


def fuse_gray(
    model: nn.Module,
    ir: np.ndarray,
    vis: np.ndarray,
    *,
    tile: int = 128,
    stride: int = 64,
    batch: int | None = None,
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Fuse two (H, W) images in [0, 1] of any size >= 1 px; returns the final map, float64."""
    if ir.ndim != 2 or ir.shape != vis.shape:
        raise ValueError(f"IR {ir.shape} and VIS {vis.shape} must be (H, W) of the same size")
    check_tiling(tile, stride)
    h, w = ir.shape
    blended = blend_tiles(
        model,
        _pad_to_tile(ir, tile),
        _pad_to_tile(vis, tile),
        tile=tile,
        stride=stride,
        batch=batch,
        device=device,
    )[:h, :w]
    return gaussian_filter(blended, FINAL_SIGMA)


def to_uint8(fused: np.ndarray, mode: str = "stretch") -> np.ndarray:
    """Map a fused float map to uint8 0-255.

    ``stretch``: the published save, ``scipy.misc.imsave`` of a float map in scipy 1.2.0, i.e.
    ``bytescale``: ``floor((m - min) * (255 / (max - min)) + 0.5)`` (halves round up, not to
    even; a constant map is written as ``clip``); ``clip``: ``floor(255 * clip(m, 0, 1) + 0.5)``.
    """
    if mode not in OUTPUT_MODES:
        raise ValueError(f"output mode must be one of {OUTPUT_MODES}, got {mode!r}")
    lo, hi = float(fused.min()), float(fused.max())
    if mode == "stretch" and hi > lo:
        scaled = (fused - lo) * (255.0 / (hi - lo))
    else:
        scaled = np.clip(fused, 0.0, 1.0) * 255.0
    return np.floor(scaled + 0.5).clip(0, 255).astype(np.uint8)


def fuse_images(
    model: nn.Module,
    ir: np.ndarray,
    vis: np.ndarray,
    *,
    output: str = "stretch",
    gray: bool = False,
    tile: int = 128,
    stride: int = 64,
    batch: int | None = None,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse 8-bit images: IR and VIS each (H, W) or (H, W, 3) RGB, all uint8 0-255.

    The network gets both bands as the released code read them (PIL ``convert("L")`` of a colour
    band, :func:`~ivifmodels.colour.network_gray`) / 255. Returns ``(image, fused_map)``: the uint8
    image (``output`` mapping; RGB with the VIS chroma when VIS is colour and ``gray`` is False)
    and the float64 map of :func:`fuse_gray`.
    """
    if ir.dtype != np.uint8 or vis.dtype != np.uint8:
        raise ValueError(f"expected uint8 IR and VIS, got {ir.dtype}, {vis.dtype}")
    if vis.shape[:2] != ir.shape[:2]:
        raise ValueError(f"size mismatch: IR is {_size(ir)}, VIS is {_size(vis)} (W x H)")
    colour = vis.ndim == 3
    fused = fuse_gray(
        model,
        network_gray(ir) / 255.0,
        network_gray(vis) / 255.0,
        tile=tile,
        stride=stride,
        batch=batch,
        device=device,
    )
    image = to_uint8(fused, output)
    if colour and not gray:
        image = restore_chroma(image, vis)
    return image, fused


def _size(img: np.ndarray) -> str:
    return f"{img.shape[1]}x{img.shape[0]}"
