"""Decode any IVIF source image to a numpy array with a declared meaning.

Every function here returns arrays in *file intensity units*:

* ``uint8`` in 0-255 for 8-bit files (modes ``L``, ``P``, ``RGB``, ``LA``, ``RGBA``, ``1``),
* ``uint16`` in 0-65535 for 16-bit files (mode ``I;16`` and friends) unless ``to_8bit=True``,
* shape ``(H, W)`` for one channel, ``(H, W, 3)`` in **RGB** order for colour.

Rules (the real dataset quirks, see docs/datasets.md):

* palette (``P``) images are decoded *through their palette*; a palette whose entries are all
  gray gives one channel (TNO Bosnia stores a gray but non-identity palette);
* gray stored in three identical channels ("gray-in-3ch": LLVIP/M3FD IR, several TNO bands) is
  reduced to one channel, detected by content and never by file name;
* true colour stays RGB; an alpha channel is dropped;
* a file that cannot be decoded (zero bytes, truncated, not an image) raises
  :class:`ImageReadError` naming the file and the problem;
* a file whose header claims more than :func:`max_pixels` pixels (default
  :data:`DEFAULT_MAX_PIXELS`, raised with the environment variable ``IVIF_MAX_PIXELS``) raises
  :class:`ImageReadError` before any pixel is decoded (a few-KB "decompression bomb" claiming
  100000 x 100000 pixels would otherwise need 10 GB).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

#: PIL modes whose samples are 16-bit integers.
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")

#: Largest image accepted, in pixels (width x height): 8192 x 8192, 192 MiB as 8-bit RGB.
DEFAULT_MAX_PIXELS = 8192 * 8192
#: Environment variable that sets another limit (a positive integer number of pixels).
MAX_PIXELS_ENV = "IVIF_MAX_PIXELS"

#: Serialises the moments in which PIL's own (global) size check is switched off.
_PIL_LIMIT_LOCK = threading.Lock()


class ImageReadError(ValueError):
    """A file could not be decoded as an image. ``str()`` names the file and the problem."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class ImageInfo:
    """What a file holds, as stored and as decoded.

    ``mode`` is the PIL mode of the file (``L``, ``RGB``, ``P``, ``I;16``, ...); ``channels`` is
    the number of channels *after* decoding by :func:`read_image` (1 or 3); ``gray_in_3ch`` is
    True when a 3-channel file (or colour palette) holds identical channels.
    """

    width: int
    height: int
    mode: str
    channels: int
    bit_depth: int
    gray_in_3ch: bool


def max_pixels() -> int:
    """The pixel limit (width x height) in force: ``IVIF_MAX_PIXELS`` or
    :data:`DEFAULT_MAX_PIXELS`. Raises ``ValueError`` naming the variable when it is not a
    positive integer."""
    text = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
    if not text:
        return DEFAULT_MAX_PIXELS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{MAX_PIXELS_ENV}={text!r}: must be a positive integer (pixels)")
    return int(text)


def _open_header(data: bytes, name: str | Path) -> Image.Image:
    """``Image.open`` on ``data`` (reads the header only) with the pixel limit enforced.

    PIL's own check (a warning above ``Image.MAX_IMAGE_PIXELS``, ``DecompressionBombError``
    above twice that) is switched off for the call and replaced by :func:`max_pixels`, so a
    too-large image is one :class:`ImageReadError` and a raised limit is not capped by PIL's.
    """
    try:
        limit = max_pixels()
    except ValueError as exc:
        raise ImageReadError(name, f"size not checked: {exc}") from None
    with _PIL_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            img = Image.open(io.BytesIO(data))
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    if img.width * img.height > limit:
        raise ImageReadError(
            name,
            f"image too large: {img.width}x{img.height} = {img.width * img.height:,} pixels, "
            f"over the limit of {limit:,} (raise it with {MAX_PIXELS_ENV}=N)",
        )
    return img


def _read_bytes(path: Path) -> bytes:
    """Read the whole file, turning file-system failures into ImageReadError."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a directory, not an image") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None


def _open_bytes(data: bytes, name: str | Path) -> Image.Image:
    """Open and fully decode the file content ``data`` with PIL; failures -> ImageReadError."""
    if not data:
        raise ImageReadError(name, "empty file (0 bytes)")
    try:
        img = _open_header(data, name)
        img.load()  # decodes everything: truncated files fail here, not later
        return img
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(name, "not an image (format not recognised)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(name, f"corrupt or truncated image ({exc})") from None


def _decode(img: Image.Image, path: Path) -> tuple[np.ndarray, int]:
    """Return (array as stored after palette/alpha handling, bit depth)."""
    mode = img.mode
    if mode in SIXTEEN_BIT_MODES:
        arr = np.asarray(img)
        if mode == "I":  # 32-bit signed container; accept it only when the values fit 16 bits
            if arr.min() < 0 or arr.max() > 65535:
                raise ImageReadError(
                    path, f"32-bit integer image with values outside 0-65535 ({mode})"
                )
        return arr.astype(np.uint16, copy=False), 16
    if mode == "F":
        raise ImageReadError(
            path, "floating-point image (mode F) is not supported; save as 8 or 16 bit"
        )
    if mode == "1":
        return np.asarray(img.convert("L")), 8
    if mode in ("L", "RGB"):
        return np.asarray(img), 8
    if mode == "LA":
        return np.asarray(img.convert("L")), 8
    if mode in ("P", "PA", "RGBA", "CMYK", "YCbCr", "LAB", "HSV"):
        return np.asarray(img.convert("RGB")), 8
    raise ImageReadError(path, f"unsupported image mode {mode!r}")


def is_gray_in_3ch(arr: np.ndarray) -> bool:
    """True when ``arr`` is (H, W, 3) with three identical channels."""
    return (
        arr.ndim == 3
        and arr.shape[2] == 3
        and np.array_equal(arr[..., 0], arr[..., 1])
        and np.array_equal(arr[..., 0], arr[..., 2])
    )


def decode_image_with_info(
    data: bytes, name: str | Path, *, to_8bit: bool = False
) -> tuple[np.ndarray, ImageInfo]:
    """Decode the bytes of an image file; ``name`` is only used in error messages.

    Returns the array (see module docstring) and its :class:`ImageInfo`. ``to_8bit=True`` maps
    16-bit data to uint8 by ``round(v * 255 / 65535)``. Lets a caller that already holds the
    bytes (to hash them) decode without reading the file twice.
    """
    img = _open_bytes(data, name)
    arr, depth = _decode(img, Path(name))
    gray3 = is_gray_in_3ch(arr)
    if gray3:
        arr = np.ascontiguousarray(arr[..., 0])
    if to_8bit and depth == 16:
        arr = np.round(arr.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
    info = ImageInfo(
        width=img.width,
        height=img.height,
        mode=img.mode,
        channels=1 if arr.ndim == 2 else arr.shape[2],
        bit_depth=depth,
        gray_in_3ch=gray3,
    )
    return arr, info


def read_image_with_info(
    path: str | Path, *, to_8bit: bool = False
) -> tuple[np.ndarray, ImageInfo]:
    """Decode ``path``; return the array (see module docstring) and its :class:`ImageInfo`.

    ``to_8bit=True`` maps 16-bit data to uint8 by ``round(v * 255 / 65535)``.
    """
    path = Path(path)
    return decode_image_with_info(_read_bytes(path), path, to_8bit=to_8bit)


@dataclass(frozen=True)
class ImageHeader:
    """What the header of an image file states (no pixel decoded): PIL ``mode``, size in
    pixels, bits per sample and the number of channels *as stored* (palette: 3, or 1 for a gray
    palette). Whether an RGB file is gray-in-3ch is unknown at this level."""

    width: int
    height: int
    mode: str
    channels: int
    bit_depth: int


def _palette_is_gray(img: Image.Image) -> bool:
    """True when every palette entry of a ``P`` image has R == G == B (checks 256 entries)."""
    palette = img.getpalette() or []
    return all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette), 3))


def verify_image_header(data: bytes, name: str | Path) -> ImageHeader:
    """Check an image file *without decoding its pixels*; raise ImageReadError if it fails.

    Uses PIL's ``verify()``: for PNG it reads every chunk and checks its CRC-32 up to ``IEND``,
    so truncated files and damaged bytes are found; for JPEG, BMP and TIFF only the header is
    checked (truncated or damaged pixel data is *not* found -- use :func:`decode_image_with_info`
    for that). About 15x cheaper than a full decode of a 640x480 PNG.
    """
    if not data:
        raise ImageReadError(name, "empty file (0 bytes)")
    try:
        img = _open_header(data, name)
        width, height, mode = img.width, img.height, img.mode
        gray_palette = mode == "P" and _palette_is_gray(img)
        bands = len(img.getbands())
        img.verify()
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(name, "not an image (format not recognised)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(name, f"corrupt or truncated image ({exc})") from None
    if mode == "P":
        channels = 1 if gray_palette else 3
    elif mode in ("LA", "1", *SIXTEEN_BIT_MODES):
        channels = 1
    else:
        channels = min(bands, 3)
    depth = 16 if mode in SIXTEEN_BIT_MODES else 8
    return ImageHeader(width=width, height=height, mode=mode, channels=channels, bit_depth=depth)


def read_image(path: str | Path, *, to_8bit: bool = False) -> np.ndarray:
    """Decode ``path`` to ``(H, W)`` or ``(H, W, 3)`` RGB, uint8 (or uint16 for 16-bit files)."""
    return read_image_with_info(path, to_8bit=to_8bit)[0]


#: PIL ``convert("L")`` fixed-point luma weights (ITU-R 601-2, sum 2^16): ``L = (19595 R +
#: 38470 G + 7471 B + 2^15) >> 16``, i.e. 0.299 R + 0.587 G + 0.114 B rounded half up.
_PIL_L_WEIGHTS = (19595, 38470, 7471)


def _gray_bt601(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def _gray_pil601(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.uint32)
    wr, wg, wb = _PIL_L_WEIGHTS
    return ((wr * c[..., 0] + wg * c[..., 1] + wb * c[..., 2] + (1 << 15)) >> 16).astype(np.uint8)


#: Colour -> gray rules by name (recipe key ``gray``, ``to_gray(rule=...)``), each on (H, W, 3)
#: uint8 RGB, returning (H, W) uint8 0-255. Both weight 0.299 R + 0.587 G + 0.114 B (ITU-R 601)
#: and keep R == G == B pixels unchanged; they differ only in fixed-point rounding, by one level
#: on 0.11 % of uniformly random RGB values and on none of the MSRS / RoadScene colour pixels
#: checked (docs/models.md):
#:
#: * ``bt601``: OpenCV ``cvtColor(RGB2GRAY)`` (14-bit fixed point, rounded);
#: * ``pil601``: PIL ``Image.convert("L")`` (16-bit fixed point, rounded), which is what the
#:   paper's released code saw: ``scipy.misc.imread(path, mode="L")`` in ``test.py`` (lines 50-51)
#:   and ``utils_ablation.get_image`` (lines 412-419) for training patches.
GRAY_RULES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "bt601": _gray_bt601,
    "pil601": _gray_pil601,
}


def to_gray(arr: np.ndarray, rule: str = "pil601") -> np.ndarray:
    """Gray (H, W) uint8 of a decoded 8-bit image: (H, W) is returned as is, (H, W, 3) RGB is
    converted with the named :data:`GRAY_RULES` entry."""
    if rule not in GRAY_RULES:
        raise ValueError(f"unknown gray rule {rule!r}; choose one of {sorted(GRAY_RULES)}")
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise ValueError(f"expected (H, W) or (H, W, 3) uint8, got {arr.shape} {arr.dtype}")
    return arr if arr.ndim == 2 else GRAY_RULES[rule](np.ascontiguousarray(arr))


def read_gray(path: str | Path, rule: str = "pil601") -> np.ndarray:
    """Decode ``path`` to one 8-bit channel ``(H, W)`` uint8 0-255.

    Colour (palettes included, through their palette) is converted with ``rule`` (see
    :data:`GRAY_RULES`); gray files are returned as stored; 16-bit data is scaled to 8 bits
    first (``round(v * 255 / 65535)``).
    """
    return to_gray(read_image(path, to_8bit=True), rule)


def write_png(path: str | Path, arr: np.ndarray) -> None:
    """Write a (H, W) or (H, W, 3) RGB uint8/uint16 array as a lossless PNG."""
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise ValueError(f"write_png: expected (H, W) or (H, W, 3), got shape {arr.shape}")
    Image.fromarray(np.ascontiguousarray(arr)).save(path, format="PNG")
