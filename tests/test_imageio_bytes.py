"""ivifdata.imageio extensions used by scan: decoding from bytes, header-only verification."""

from pathlib import Path

import numpy as np
import pytest

from ivifdata.imageio import (
    ImageReadError,
    decode_image_with_info,
    read_image_with_info,
    verify_image_header,
)

DATA = Path(__file__).parent / "data" / "imageio"


@pytest.mark.parametrize(
    "name", ["LWIR_B.bmp", "airplane_ir_crop_gray3ch.png", "msrs_00055D_vi_crop_rgb.png"]
)
def test_bytes_and_path_decode_agree(name):
    path = DATA / name
    arr_b, info_b = decode_image_with_info(path.read_bytes(), path)
    arr_p, info_p = read_image_with_info(path)
    assert info_b == info_p and np.array_equal(arr_b, arr_p)


def test_header_matches_decoded_info():
    palette = verify_image_header((DATA / "LWIR_B.bmp").read_bytes(), "LWIR_B.bmp")
    assert (palette.mode, palette.channels, palette.width, palette.height) == ("P", 1, 640, 480)
    gray3 = verify_image_header((DATA / "airplane_ir_crop_gray3ch.png").read_bytes(), "a.png")
    assert gray3.mode == "RGB" and gray3.channels == 3  # stored channels: gray not checked


def test_header_check_catches_png_crc_damage_and_truncation():
    good = (DATA / "msrs_00055D_vi_crop_rgb.png").read_bytes()
    damaged = good[:100] + bytes(50) + good[150:]
    for bad, words in ((damaged, "corrupt"), (good[: len(good) // 2], "truncated"), (b"", "empty")):
        with pytest.raises(ImageReadError, match=words):
            verify_image_header(bad, "x.png")
        with pytest.raises(ImageReadError):
            decode_image_with_info(bad, "x.png")
