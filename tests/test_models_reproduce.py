"""The released weights reproduce the published fused images (shared/paper_fused/).

Inputs are read as the released ``test.py`` read them (PIL ``convert("L")``); the float maps
must agree within 1e-6 and the 8-bit results (scipy ``bytescale`` save) pixel for pixel, except
for the few pixels named below.
"""

from functools import cache

import cv2
import numpy as np
import pytest

from ivifdata.imageio import read_image
from ivifmodels.fuse import fuse_images

#: Quantisation bound of the 16-bit fixture maps (see tests/data/models/README.md).
MAP16_ERROR = 0.5 / 65535
#: Agreement of the float maps (the published maps are float32; measured max 3.7e-7).
MAP_TOLERANCE = 1e-6
#: 8-bit pixels (of 307,200) that may differ from the published PNG, by one level each. The
#: published save stretched its float64 map; ours stretches our own map, which differs from it by
#: float32 rounding of the network (<= 4.8e-7) and so moves a value that sits that close to a .5
#: boundary across it. Measured: 1, 4 (CNN), 4, 4 (Transformer), 7, 5 (GAN) on 00004N, 00055D;
#: the published map itself (float32 .npy) re-saved gives 0 and 1 for the CNN.
PNG_DIFFERENCES_MAX = 10


NAMES = ("cnn", "transformer", "gan")
STEMS = ("00004N", "00055D")
CASES = [(name, stem) for name in NAMES for stem in STEMS]


@pytest.fixture(scope="module")
def fused(released, models_data):
    """``fused(name, stem)``: (8-bit image, float map) of a fixture pair, computed once."""

    @cache
    def fuse(name: str, stem: str) -> tuple[np.ndarray, np.ndarray]:
        ir = read_image(models_data / "msrs" / "ir" / f"{stem}.png")
        vis = read_image(models_data / "msrs" / "vi" / f"{stem}.png")
        return fuse_images(released(name), ir, vis, output="stretch", gray=True)

    return fuse


@pytest.mark.parametrize(("name", "stem"), CASES)
def test_reproduces_published_map_and_png(fused, released_files, models_data, name, stem):
    image, fmap = fused(name, stem)
    ref = f"{stem}_{released_files[name].stem}"
    map16 = cv2.imread(str(models_data / "paper_fused" / f"{ref}_map16.png"), cv2.IMREAD_UNCHANGED)
    assert map16.dtype == np.uint16 and map16.shape == fmap.shape == (480, 640)
    assert np.abs(fmap - map16 / 65535.0).max() <= MAP_TOLERANCE + MAP16_ERROR
    rows = np.load(models_data / "paper_fused" / f"{ref}_rows.npz")
    start = int(rows["start"])
    exact = rows["rows"]
    assert exact.dtype == np.float32 and exact.shape == (48, 640)
    assert np.abs(fmap[start : start + 48] - exact).max() <= MAP_TOLERANCE
    png = cv2.imread(str(models_data / "paper_fused" / f"{ref}.png"), cv2.IMREAD_UNCHANGED)
    diff = np.abs(image.astype(int) - png)
    assert diff.max() <= 1 and int((diff > 0).sum()) <= PNG_DIFFERENCES_MAX


@pytest.mark.shared
@pytest.mark.parametrize(("name", "stem"), CASES)
def test_reproduces_shared_float_maps(fused, released_files, shared_dir, name, stem):
    if not (shared_dir / "paper_fused").is_dir():
        pytest.skip("../shared absent")
    ref = np.load(shared_dir / "paper_fused" / f"{stem}_{released_files[name].stem}.npy")
    assert np.abs(fused(name, stem)[1] - ref).max() <= MAP_TOLERANCE
