"""Synthetic IVIF folders (generic layout ``ir/`` + ``vi/``) for the build and loader benchmarks.

Images have smooth structure plus sensor-like noise, so PNG sizes are of the order of real
ones; IR is 8-bit gray, VIS 8-bit RGB.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    coarse = rng.integers(0, 240, (height // 32 + 1, width // 32 + 1), dtype=np.uint8)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
    return smooth + rng.integers(0, 16, (height, width), dtype=np.uint8)  # sensor-like noise


def write_pairs(
    root: Path,
    count: int,
    width: int = 640,
    height: int = 480,
    colour_vis: bool = True,
    seed: int = 0,
) -> Path:
    """Write ``count`` pairs ``root/ir/NNNNNN.png`` + ``root/vi/NNNNNN.png`` (VIS RGB, or gray
    when ``colour_vis`` is False); return ``root``."""
    rng = np.random.default_rng(seed)
    (root / "ir").mkdir(parents=True, exist_ok=True)
    (root / "vi").mkdir(parents=True, exist_ok=True)
    for k in range(count):
        ir = _texture(rng, height, width)
        bands = [_texture(rng, height, width) for _ in range(3 if colour_vis else 1)]
        vis = np.stack(bands, axis=2) if colour_vis else bands[0]
        cv2.imwrite(str(root / "ir" / f"{k:06d}.png"), ir)
        cv2.imwrite(str(root / "vi" / f"{k:06d}.png"), vis)
    return root
