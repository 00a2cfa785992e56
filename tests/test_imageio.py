"""ivifdata.imageio: decoding rules and bad input (smoke / exception / values)."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ivifdata.imageio import ImageReadError, read_gray, read_image, read_image_with_info

DATA = Path(__file__).parent / "data" / "imageio"


def test_palette_bmp_decoded_through_palette():
    arr, info = read_image_with_info(DATA / "LWIR_B.bmp")
    assert info.mode == "P" and arr.shape == (480, 640) and arr.dtype == np.uint8
    raw = np.asarray(Image.open(DATA / "LWIR_B.bmp"))  # palette indices
    assert not np.array_equal(arr, raw), "indices must not be taken as intensities"
    # values pinned from the reference triple tno_Bosnia_mean/ir.png (independent table decode)
    assert int(arr.sum(dtype=np.int64)) == 44750342
    assert arr[100, 200] == 106 and arr[0, 0] == 255


def test_gray_in_3ch_reduced_by_content():
    arr, info = read_image_with_info(DATA / "airplane_ir_crop_gray3ch.png")
    assert info.mode == "RGB" and info.gray_in_3ch and arr.shape == (64, 96)


def test_colour_kept_rgb_and_gray_conversion():
    arr = read_image(DATA / "msrs_00055D_vi_crop_rgb.png")
    assert arr.shape == (64, 96, 3)
    gray = read_gray(DATA / "msrs_00055D_vi_crop_rgb.png")
    r, g, b = (arr[..., k].astype(float) for k in range(3))
    assert np.abs(gray - (0.299 * r + 0.587 * g + 0.114 * b)).max() <= 1


def test_16bit_kept_or_scaled(tmp_path):
    a16 = (np.arange(64 * 32, dtype=np.uint32).reshape(32, 64) * 31).astype(np.uint16)
    p = tmp_path / "x16.png"
    Image.fromarray(a16).save(p)
    arr, info = read_image_with_info(p)
    assert arr.dtype == np.uint16 and info.bit_depth == 16 and np.array_equal(arr, a16)
    a8 = read_image(p, to_8bit=True)
    assert a8.dtype == np.uint8 and a8.max() == round(int(a16.max()) * 255 / 65535)


@pytest.mark.parametrize(
    "content, reason",
    [(b"", "empty file"), (b"this is text, not a picture", "not an image")],
)
def test_bad_bytes(tmp_path, content, reason):
    p = tmp_path / "bad.png"
    p.write_bytes(content)
    with pytest.raises(ImageReadError, match=reason) as err:
        read_image(p)
    assert str(p) in str(err.value)


def test_truncated(tmp_path):
    good = (DATA / "msrs_00055D_vi_crop_rgb.png").read_bytes()
    p = tmp_path / "cut.png"
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(ImageReadError, match="corrupt or truncated"):
        read_image(p)


def test_missing_and_directory(tmp_path):
    with pytest.raises(ImageReadError, match="file not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError):
        read_image(tmp_path)
