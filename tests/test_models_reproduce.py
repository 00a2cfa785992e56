"""The released weights reproduce the published fused images (shared/paper_fused/)."""

from functools import cache

import cv2
import numpy as np
import pytest
from models_fixtures import DATA, RELEASED, SHARED, STEMS, released

from ivifdata.imageio import read_gray, read_image
from models.fuse import fuse_images

#: Quantisation bound of the 16-bit fixture maps (see tests/data/models/README.md).
MAP16_ERROR = 0.5 / 65535


@cache
def fused(name: str, stem: str) -> tuple[np.ndarray, np.ndarray]:
    ir = read_gray(DATA / "msrs" / "ir" / f"{stem}.png")
    vis = read_image(DATA / "msrs" / "vi" / f"{stem}.png")
    return fuse_images(released(name), ir, vis, output="stretch", gray=True)


CASES = [(name, stem) for name in RELEASED for stem in STEMS]


@pytest.mark.parametrize(("name", "stem"), CASES)
def test_reproduces_published_map_and_png(name, stem):
    image, fmap = fused(name, stem)
    ref = f"{stem}_{RELEASED[name]}"
    map16 = cv2.imread(str(DATA / "paper_fused" / f"{ref}_map16.png"), cv2.IMREAD_UNCHANGED)
    assert map16.dtype == np.uint16 and map16.shape == fmap.shape == (480, 640)
    assert np.abs(fmap - map16 / 65535.0).max() <= 1e-4 - MAP16_ERROR
    png = cv2.imread(str(DATA / "paper_fused" / f"{ref}.png"), cv2.IMREAD_UNCHANGED)
    diff = np.abs(image.astype(int) - png)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "paper_fused").is_dir(), reason="../shared absent")
@pytest.mark.parametrize(("name", "stem"), CASES)
def test_reproduces_shared_float_maps(name, stem):
    ref = np.load(SHARED / "paper_fused" / f"{stem}_{RELEASED[name]}.npy")
    assert np.abs(fused(name, stem)[1] - ref).max() <= 1e-4
