"""Tiled fusion: tiling rule, odd and tiny sizes, output mappings, colour path."""

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter

from ivifdata.imageio import read_gray, read_image
from ivifmodels.colour import network_gray, restore_chroma
from ivifmodels.fuse import fuse_gray, fuse_images, tile_origins, tile_weight, to_uint8


def test_tile_origins_published_rule():
    assert tile_origins(640, 128, 64) == [0, 64, 128, 192, 256, 320, 384, 448, 512, 512]
    assert tile_origins(480, 128, 64) == [0, 64, 128, 192, 256, 320, 352]
    assert tile_origins(128, 128, 64) == [0, 0]
    with pytest.raises(ValueError, match="shorter than the tile"):
        tile_origins(100, 128, 64)


def test_tile_weight_gaussian_on_minus3_3_grid():
    w = tile_weight(128)
    assert w.shape == (128, 128) and w.dtype == np.float64
    assert np.allclose(w, w.T) and np.allclose(w, w[::-1, ::-1])
    assert w[0, 0] == pytest.approx(np.exp(-9.0)) and w.max() < 1  # centre falls between pixels


@pytest.fixture(scope="module")
def msrs_crop(models_data):
    """A real 150 x 230 crop (not a multiple of 4 or of the stride) of MSRS 00055D."""
    ir = read_gray(models_data / "msrs" / "ir" / "00055D.png")[100:250, 200:430]
    vis = read_image(models_data / "msrs" / "vi" / "00055D.png")[100:250, 200:430]
    return ir, vis


def _published_loop(model, ir, vis, tile=128, stride=64):
    """Independent published-style loop: every listed tile (repeats included), batches of 4."""
    h, w = ir.shape
    ys = list(range(0, h - tile + 1, stride)) + [h - tile]
    xs = list(range(0, w - tile + 1, stride)) + [w - tile]
    g = np.linspace(-3, 3, tile)
    weight = np.exp(-(g[:, None] ** 2 + g[None, :] ** 2) / 2)
    acc, wsum = np.zeros((h, w)), np.zeros((h, w))
    pos = [(y, x) for y in ys for x in xs]
    for i in range(0, len(pos), 4):
        batch = pos[i : i + 4]
        tiles = [
            np.stack([ir[y : y + tile, x : x + tile], vis[y : y + tile, x : x + tile]])
            for y, x in batch
        ]
        with torch.no_grad():
            out = model(torch.from_numpy(np.stack(tiles).astype(np.float32))).numpy()
        for (y, x), o in zip(batch, out, strict=True):
            acc[y : y + tile, x : x + tile] += weight * o[0]
            wsum[y : y + tile, x : x + tile] += weight
    return gaussian_filter(acc / wsum, 0.3)


def test_fuse_gray_matches_published_loop_on_odd_size(released, msrs_crop):
    ir, vis = msrs_crop[0] / 255.0, network_gray(msrs_crop[1]) / 255.0
    model = released("cnn")
    got = fuse_gray(model, ir, vis, batch=5)
    want = _published_loop(model, ir, vis)
    assert got.shape == (150, 230) and got.dtype == np.float64
    assert np.abs(got - want).max() < 1e-6


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (37, 301), (130, 61)])
def test_tiny_and_odd_sizes_are_mirror_padded_to_the_tile(released, shape, msrs_crop):
    h, w = shape
    ir = np.resize(msrs_crop[0], shape) / 255.0  # real content, arbitrary shape
    vis = np.resize(network_gray(msrs_crop[1]), shape) / 255.0
    model = released("transformer")
    got = fuse_gray(model, ir, vis)
    assert got.shape == shape and np.isfinite(got).all()
    if h < 128 and w < 128:  # one tile: the definition written out
        pad = ((0, 128 - h), (0, 128 - w))
        x = np.stack([np.pad(ir, pad, mode="symmetric"), np.pad(vis, pad, mode="symmetric")])
        with torch.no_grad():
            out = model(torch.from_numpy(x[None].astype(np.float32))).numpy()[0, 0]
        assert np.abs(got - gaussian_filter(out[:h, :w].astype(np.float64), 0.3)).max() < 1e-6


def test_tiling_parameters_are_checked(released, msrs_crop):
    ir = msrs_crop[0] / 255.0
    with pytest.raises(ValueError, match="multiple of 4"):
        fuse_gray(released("cnn"), ir, ir, tile=126)
    with pytest.raises(ValueError, match="stride must be between 1 and"):
        fuse_gray(released("cnn"), ir, ir, stride=0)


def test_to_uint8_stretch_and_clip():
    m = np.array([[-0.5, 0.0], [0.25, 1.5]])
    assert to_uint8(m, "stretch").tolist() == [[0, 64], [96, 255]]
    assert to_uint8(m, "clip").tolist() == [[0, 0], [64, 255]]
    assert to_uint8(np.full((2, 2), 0.5), "stretch").tolist() == [[128, 128], [128, 128]]
    with pytest.raises(ValueError, match="output mode"):
        to_uint8(m, "gamma")


@pytest.mark.parametrize("band", ["ir", "vi"])
def test_network_gray_is_pil_convert_l(models_data, band):
    """Both bands reach the network as scipy.misc.imread(mode="L") = PIL convert("L") read them."""
    path = models_data / "msrs" / band / "00055D.png"
    with Image.open(path) as img:
        want = np.asarray(img.convert("L"))
    assert np.array_equal(network_gray(read_image(path)), want)
    # not what OpenCV's IMREAD_GRAYSCALE (libpng, truncating) gives for the colour VIS
    assert band == "ir" or not np.array_equal(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), want)


def test_network_gray_formula_on_every_colour():
    """PIL's fixed point (19595 R + 38470 G + 7471 B + 2^15) >> 16 on a 256^3 / 64 grid."""
    v = np.arange(0, 256, 4, dtype=np.uint8)
    rgb = np.stack(np.meshgrid(v, v, v, indexing="ij"), axis=-1).reshape(64 * 64, 64, 3)
    assert np.array_equal(network_gray(rgb), np.asarray(Image.fromarray(rgb).convert("L")))


def test_to_uint8_stretch_rounds_halves_up_as_scipy_bytescale():
    m = np.array([[0.0, 255.0], [2.5, 3.5]])  # scale 1: 2.5 -> 3 (round-half-even would give 2)
    assert to_uint8(m, "stretch").tolist() == [[0, 255], [3, 4]]


def test_colour_result_keeps_vis_chroma(released, msrs_crop):
    ir, vis = msrs_crop
    model = released("gan")
    rgb, fused = fuse_images(model, ir, vis, output="clip")
    gray, fused_gray = fuse_images(model, ir, vis, output="clip", gray=True)
    assert rgb.shape == (150, 230, 3) and gray.shape == (150, 230)
    assert np.array_equal(fused, fused_gray) and np.array_equal(gray, to_uint8(fused, "clip"))
    ycc_out = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(int)
    ycc_vis = cv2.cvtColor(vis, cv2.COLOR_RGB2YCrCb).astype(int)
    assert np.abs(ycc_out[..., 0] - gray).max() <= 2  # 8-bit YCrCb round trip
    assert np.abs(ycc_out[..., 1:] - ycc_vis[..., 1:]).mean() < 1.0
    assert np.array_equal(restore_chroma(gray, vis), rgb)


def test_size_mismatch_is_an_error(released, msrs_crop):
    ir, vis = msrs_crop
    with pytest.raises(ValueError, match=r"size mismatch: IR is 230x150, VIS is 229x150"):
        fuse_images(released("cnn"), ir, vis[:, :-1])
