"""``ivifdata inspect --contact-sheet`` labels every patch: IR/VIS, dataset, path (issue 13
item 11)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

from ivifdata.build import build
from ivifdata.cli import main
from ivifdata.inspection import GAP, LABEL_LINE, tile_caption
from ivifdata.recipe import load_recipe
from ivifdata.shardformat import BankReader, decode_png, read_bank_index, sampler_from_index

SAMPLE = Path(__file__).resolve().parents[1] / "manifests" / "sample.yaml"


def test_contact_sheet_tiles_carry_band_dataset_and_path(tmp_path):
    out = tmp_path / "b"
    build(load_recipe(SAMPLE, ["subset.n=8", "pairing.ratio=1", "patch.min_std=0"]), out)
    sheet_path = tmp_path / "sheet.png"
    result = CliRunner().invoke(
        main, ["inspect", str(out), "--contact-sheet", str(sheet_path), "--pairs", "5"]
    )
    assert result.exit_code == 0, result.output
    sheet = cv2.imread(str(sheet_path), cv2.IMREAD_UNCHANGED)
    index = read_bank_index(out)
    ir_idx, vis_idx = sampler_from_index(index).pairs(0, 0, 5)
    reader = BankReader(index)
    size, lines = 128, 3
    tile_h, tile_w = size + lines * LABEL_LINE, 2 * size + GAP
    assert sheet.shape == (2 * (tile_h + GAP) + GAP, 4 * (tile_w + 2 * GAP) + GAP)
    try:
        for t, (i, j) in enumerate(zip(ir_idx.tolist(), vis_idx.tolist(), strict=True)):
            r, c = divmod(t, 4)
            y, x = GAP + r * (tile_h + GAP), GAP + c * (tile_w + 2 * GAP)
            for band, k in (("ir", i), ("vis", j)):
                patch = decode_png(reader.read(k, f"{band}.png"), size, band)
                assert np.array_equal(sheet[y : y + size, x : x + size], patch)
                source = json.loads(reader.read(k, "json"))[band]
                caption = tile_caption(band, source, k)
                assert caption[0] == f"{band.upper()} {source['dataset']}"
                assert caption[1] == source["path"] and caption[2].endswith(f"#{k}")
                strip = sheet[y + size : y + tile_h, x : x + size]
                for n in range(lines):  # every caption line holds black text
                    assert strip[n * LABEL_LINE : (n + 1) * LABEL_LINE].min() < 64
                x += size + GAP
    finally:
        reader.close()
    empty = sheet[GAP + tile_h + GAP :, GAP + 3 * (tile_w + 2 * GAP) :]  # no sixth+ pair
    assert empty.min() == 255
