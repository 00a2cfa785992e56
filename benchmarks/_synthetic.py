"""Synthetic IVIF folders (generic layout ``ir/`` + ``vi/``) for the build and loader benchmarks.

Images have smooth structure plus sensor-like noise, so PNG sizes are of the order of real
ones; IR is 8-bit gray, VIS 8-bit RGB.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    coarse = rng.integers(0, 256, (height // 32 + 1, width // 32 + 1)).astype(np.float32)
    smooth = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    noisy = smooth + rng.normal(0.0, 4.0, (height, width)).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def write_pairs(root: Path, count: int, width: int = 640, height: int = 480, seed: int = 0) -> Path:
    """Write ``count`` pairs ``root/ir/NNNNNN.png`` + ``root/vi/NNNNNN.png``; return ``root``."""
    rng = np.random.default_rng(seed)
    (root / "ir").mkdir(parents=True, exist_ok=True)
    (root / "vi").mkdir(parents=True, exist_ok=True)
    for k in range(count):
        ir = _texture(rng, height, width)
        vis = np.stack([_texture(rng, height, width) for _ in range(3)], axis=2)
        cv2.imwrite(str(root / "ir" / f"{k:06d}.png"), ir)
        cv2.imwrite(str(root / "vi" / f"{k:06d}.png"), vis)
    return root
