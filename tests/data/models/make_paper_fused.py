"""Regenerate paper_fused/ from ../shared/paper_fused/ (run from this folder; see README.md)."""

import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

SHARED = Path(sys.argv[1] if len(sys.argv) > 1 else "../../../../shared/paper_fused")
OUT = Path("paper_fused")
ROWS = slice(336, 384)  # 48 full-width rows across the bottom tile seam (origins 320 and 352)

for npy in sorted(SHARED.glob("*.npy")):
    fmap = np.load(npy)
    shutil.copyfile(npy.with_suffix(".png"), OUT / f"{npy.stem}.png")
    map16 = np.round(fmap.astype(np.float64) * 65535.0).astype(np.uint16)
    cv2.imwrite(str(OUT / f"{npy.stem}_map16.png"), map16)
    np.savez_compressed(OUT / f"{npy.stem}_rows.npz", rows=fmap[ROWS], start=ROWS.start)
