"""Re-create the eval fixtures from the team's shared set (provenance, see README.md here).

Run from the repository root with ``../shared`` present:
``PYTHONPATH=. python tests/data/eval/make_fixtures.py``.
Every file is a 96x72 crop (lossless unless the extension says otherwise) of a real image.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ivifdata.imageio import read_image

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / ".." / "shared"
CROP_H, CROP_W = 72, 96

#: stem -> top-left (row, column) of the crop, chosen where both sources have texture.
MSRS_CROPS = {"00004N": (240, 300), "00055D": (200, 280)}
ROADSCENE_CROPS = {"FLIR_00006": (150, 300), "FLIR_video_02829": (100, 200)}


def crop(arr: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
    """Return the CROP_H x CROP_W window of ``arr`` starting at ``origin`` (row, column)."""
    y, x = origin
    return np.ascontiguousarray(arr[y : y + CROP_H, x : x + CROP_W])


def save(path: Path, arr: np.ndarray, **options) -> None:
    """Write ``arr`` (gray or RGB uint8) with PIL; the format follows the extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **options)


def y_with_vis_chroma(fused_gray: np.ndarray, vis_rgb: np.ndarray) -> np.ndarray:
    """Colour fused image as the fusion papers make it: fused Y + VIS Cr/Cb (OpenCV YCrCb)."""
    ycrcb = cv2.cvtColor(vis_rgb, cv2.COLOR_RGB2YCrCb)
    ycrcb[..., 0] = fused_gray
    return cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB)


def make_msrs() -> None:
    out = HERE / "msrs"
    for stem, origin in MSRS_CROPS.items():
        ir = crop(read_image(SHARED / "data/msrs/test/ir" / f"{stem}.png"), origin)
        vis = crop(read_image(SHARED / "data/msrs/test/vi" / f"{stem}.png"), origin)
        save(out / "ir" / f"{stem}.png", ir)
        save(out / "vi" / f"{stem}.png", vis)  # RGB source
        for model in ("CNN", "GAN", "Trans"):
            fused = crop(read_image(SHARED / "paper_fused" / f"{stem}_{model}.png"), origin)
            save(out / "results" / model / f"{stem}.png", fused)
        cnn = crop(read_image(SHARED / "paper_fused" / f"{stem}_CNN.png"), origin)
        save(out / "results" / "CNNcolor" / f"{stem}.jpg", y_with_vis_chroma(cnn, vis), quality=95)
        lap = crop(read_image(SHARED / "refs/triples" / f"msrs_{stem}_lap" / "fused.png"), origin)
        save(out / "results" / "lap" / f"{stem}.bmp", lap)


def make_roadscene() -> None:
    out = HERE / "roadscene"
    for stem, origin in ROADSCENE_CROPS.items():
        triple = SHARED / "refs/triples"
        save(
            out / "ir" / f"{stem}.png",
            crop(read_image(triple / f"roadscene_{stem}_mean/ir.png"), origin),
        )
        save(
            out / "vis" / f"{stem}.png",
            crop(read_image(triple / f"roadscene_{stem}_mean/vis.png"), origin),
        )
        for rule in ("mean", "lap"):
            fused = crop(read_image(triple / f"roadscene_{stem}_{rule}/fused.png"), origin)
            save(out / "results" / rule / f"{stem}.tif", fused, compression="tiff_lzw")


if __name__ == "__main__":
    make_msrs()
    make_roadscene()
