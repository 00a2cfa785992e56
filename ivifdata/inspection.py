"""``ivifdata inspect``: a summary of a build and a contact sheet of sampled pairs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ivifdata.atomic import atomic_path
from ivifdata.imageio import write_png
from ivifdata.shardformat import (
    INDEX_FILE,
    RECORD_FILE,
    BankReader,
    decode_png,
    read_bank_index,
    sample_meta,
    sampler_from_index,
    skipped_sources,
)

GAP = 4  # pixels between tiles of the contact sheet (value 255)
LABEL_FONT = cv2.FONT_HERSHEY_PLAIN
LABEL_SCALE = 0.8  # about 6.5 pixels per character, 12 pixels high
LABEL_LINE = 14  # pixels per caption line
_EMPTY = {"dataset": "", "path": "", "x": 0, "y": 0}


def summary(outdir: str | Path) -> list[str]:
    """Human-readable lines describing the build in ``outdir``."""
    outdir = Path(outdir)
    index = read_bank_index(outdir)
    record = json.loads((outdir / RECORD_FILE).read_text())
    pairing = index.pairing
    assert pairing is not None
    sampler = sampler_from_index(index)
    size = index.patch_size
    lines = [
        f"build      {index.name} (recipe {record['recipe_file']})",
        f"patches    N = {index.n} of {size}x{size} gray, "
        f"{'aligned IR/VIS pairs' if index.aligned else 'IR and VIS drawn independently'}",
        f"bank       {len(index.shards)} shards, {sum(s.filesize for s in index.shards):,} bytes",
        f"pairing    {pairing.mode}: set of {pairing.set_size:,} pairs, "
        f"{pairing.pairs_per_epoch:,} asked per epoch, {sampler.epoch_length:,} drawn "
        f"(over-ask rule {pairing.overask}), {pairing.epochs} epochs, seed {pairing.seed}",
    ]
    for source in record["sources"]:
        datasets = Counter(image["dataset"] for image in source["images"])
        text = ", ".join(f"{d} {c}" for d, c in sorted(datasets.items()))
        lines.append(
            f"source     {'+'.join(source['bands'])}: {len(source['images'])} images ({text}), "
            f"{source['candidates']:,} candidate patches, {len(source['skipped'])} skipped"
        )
    lines += [f"skipped    {path}: {reason}" for path, reason in skipped_sources(record)]
    pair_indexes = [name for name in record["outputs"] if name != INDEX_FILE]
    if pair_indexes:
        lines.append(f"pairs      materialised for {len(pair_indexes)} epochs")
    lines.append(f"versions   {', '.join(f'{k} {v}' for k, v in record['versions'].items())}")
    lines.append(f"timings    {', '.join(f'{k} {v}' for k, v in record['timings_s'].items())}")
    return lines


def tile_caption(band: str, source: dict[str, Any], index: int) -> list[str]:
    """The caption lines under one tile of the contact sheet: band (``IR``/``VIS``) and
    dataset, the source path (relative to its source root), the crop origin (pixels) and the
    bank index of the patch."""
    return [
        f"{band.upper()} {source['dataset']}",
        str(source["path"]),
        f"x{source['x']} y{source['y']} #{index}",
    ]


def _fit(text: str, width: int) -> str:
    """``text``, cut from the left (``..`` marks the cut) to fit ``width`` pixels."""
    cut = text
    while cut and cv2.getTextSize(cut, LABEL_FONT, LABEL_SCALE, 1)[0][0] > width:
        text = text[1:]
        cut = ".." + text
    return cut


def _label(sheet: np.ndarray, lines: list[str], x: int, y: int, width: int) -> None:
    """Write ``lines`` in black into ``sheet`` from pixel (x, y) down, each cut to ``width``."""
    for k, line in enumerate(lines):
        origin = (x, y + (k + 1) * LABEL_LINE - 4)
        cv2.putText(sheet, _fit(line, width), origin, LABEL_FONT, LABEL_SCALE, 0, 1, cv2.LINE_AA)


def contact_sheet(
    outdir: str | Path, count: int = 16, epoch: int = 0, columns: int = 4
) -> np.ndarray:
    """(H, W) uint8 sheet of the first ``count`` pairs of ``epoch``: IR left, VIS right, each
    tile captioned with :func:`tile_caption` (black text on white)."""
    outdir = Path(outdir)
    index = read_bank_index(outdir)
    size = index.patch_size
    sampler = sampler_from_index(index)
    count = min(count, sampler.epoch_length)
    ir_idx, vis_idx = sampler.pairs(epoch, 0, count)
    reader = BankReader(index)
    tile_w, tile_h = 2 * size + GAP, size + len(tile_caption("ir", _EMPTY, 0)) * LABEL_LINE
    rows = -(-count // columns)
    sheet = np.full(
        (rows * (tile_h + GAP) + GAP, columns * (tile_w + 2 * GAP) + GAP), 255, np.uint8
    )
    try:
        for t, (i, j) in enumerate(zip(ir_idx.tolist(), vis_idx.tolist(), strict=True)):
            r, c = divmod(t, columns)
            y, x = GAP + r * (tile_h + GAP), GAP + c * (tile_w + 2 * GAP)
            for band, k in (("ir", i), ("vis", j)):
                patch = decode_png(reader.read(k, f"{band}.png"), size, band)
                sheet[y : y + size, x : x + size] = patch
                source = sample_meta(reader.read(k, "json"), f"bank entry {k}")[band]
                _label(sheet, tile_caption(band, source, k), x, y + size, size)
                x += size + GAP
    finally:
        reader.close()
    return sheet


def save_contact_sheet(
    outdir: str | Path, png: str | Path, count: int = 16, epoch: int = 0
) -> None:
    """Write :func:`contact_sheet` to ``png`` (atomically)."""
    sheet = contact_sheet(outdir, count, epoch)
    with atomic_path(png) as tmp:
        write_png(tmp, sheet)
