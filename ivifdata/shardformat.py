"""The shard format of an ``ivifdata build`` folder, read side: file names, the typed index,
random access to the bank, the pair sampler an index describes and checked PNG decoding.

This is the bottom of ``ivifdata``: the builder, the verifier, ``inspect``, the training loader
and ``ivifmodels`` take names and readers from here, and it imports no torch, pandas or
``ivifdata.build``. OpenCV is imported on the first PNG decode only.

Folder layout (``docs/building.md``): ``patches-NNNNNN.tar`` bank shards (sample key
``p0000123``, fields ``ir.png``, ``vis.png``, ``json``), the ``wids`` shard index
``index.json`` with an ``ivifdata`` section, optional materialised pair shards and their indexes,
and the build record ``build.json``.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import numpy as np

from ivifdata.pair_sampler import EpochSampler
from ivifdata.tarshards import WIDS_KIND, member_offsets

WORK_DIR = ".ivifdata-build"
LOCK_FILE = ".ivifdata-build.lock"
PLAN_FILE = "plan.json"
INDEX_FILE = "index.json"
RECORD_FILE = "build.json"
CACHE_DIR = "cache"
BANK_SHARD = "patches-{:06d}.tar"
PAIRS_INDEX = "pairs-e{:04d}.json"
PAIRS_SHARD = "pairs-e{:04d}-{:06d}.tar"
BANK_KEY = "p{:07d}"
PAIR_KEY = "e{:04d}_{:09d}"
PNG_FIELDS = ("ir.png", "vis.png")
FIELDS = frozenset({*PNG_FIELDS, "json"})

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG colour type of single-channel gray (PNG spec, IHDR).
PNG_GRAY = 0


class ShardFormatError(ValueError):
    """A shard, index or sample is not what this format defines (message names file/field)."""


@dataclass(frozen=True)
class ShardEntry:
    """One ``shardlist`` entry: ``url`` relative to the index's folder, sample count, bytes,
    hex sha256."""

    url: str
    nsamples: int
    filesize: int
    sha256: str


@dataclass(frozen=True)
class Pairing:
    """The pairing section of a bank index (see :class:`ivifdata.pair_sampler.EpochSampler`)."""

    mode: str
    set_size: int
    pairs_per_epoch: int
    epoch_length: int
    overask: str
    epochs: int
    seed: int


@dataclass(frozen=True)
class ShardIndex:
    """A checked ``wids`` index: its file, name, shards and the raw ``ivifdata`` section."""

    path: Path
    name: str
    shards: list[ShardEntry]
    info: dict[str, Any]

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def kind(self) -> str:
        """``patch-bank`` or ``pairs``."""
        return str(self.info.get("kind", ""))

    def shard_path(self, entry: ShardEntry) -> Path:
        return self.folder / entry.url

    @property
    def nsamples(self) -> int:
        return sum(e.nsamples for e in self.shards)


@dataclass(frozen=True)
class BankIndex(ShardIndex):
    """The index of a patch bank: ``n`` entries of ``patch_size`` squared gray patches."""

    n: int = 0
    patch_size: int = 0
    aligned: bool = False
    pairing: Pairing | None = None


def _check_url(path: Path, url: Any) -> str:
    """``url`` if it names a file inside the index's folder, else ShardFormatError."""
    pure = PurePosixPath(url) if isinstance(url, str) else None
    if pure is None or not url or pure.is_absolute() or ".." in pure.parts or "\\" in url:
        raise ShardFormatError(f"{path}: shard url {url!r} points outside {path.parent}")
    folder = path.parent.resolve()
    if not (folder / url).resolve().is_relative_to(folder):
        raise ShardFormatError(f"{path}: shard url {url!r} resolves outside {path.parent}")
    return url


def _entry(path: Path, raw: Any) -> ShardEntry:
    if not isinstance(raw, dict):
        raise ShardFormatError(f"{path}: a shardlist entry is not a mapping")
    try:
        entry = ShardEntry(
            url=_check_url(path, raw["url"]),
            nsamples=raw["nsamples"],
            filesize=raw.get("filesize", -1),
            sha256=raw.get("sha256", ""),
        )
    except KeyError as exc:
        raise ShardFormatError(f"{path}: shardlist entry lacks {exc.args[0]}") from None
    for key in ("nsamples", "filesize"):
        value = getattr(entry, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < -1:
            raise ShardFormatError(f"{path}: shardlist {key} {value!r} is not a count")
    return entry


def read_index(path: str | Path) -> ShardIndex:
    """Load and check a wids index (``BankIndex`` for a patch bank); ShardFormatError names
    the file and the problem."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShardFormatError(f"{path}: cannot read the shard index ({exc})") from None
    if (
        not isinstance(doc, dict)
        or doc.get("__kind__") != WIDS_KIND
        or doc.get("wids_version") != 1
        or not isinstance(doc.get("shardlist"), list)
    ):
        raise ShardFormatError(f"{path}: not a {WIDS_KIND} document")
    shards = [_entry(path, raw) for raw in doc["shardlist"]]
    info = doc.get("ivifdata") if isinstance(doc.get("ivifdata"), dict) else {}
    name = str(doc.get("name", path.stem))
    if info.get("kind") != "patch-bank":
        return ShardIndex(path, name, shards, info)
    try:
        pairing = Pairing(**{k: info["pairing"][k] for k in Pairing.__dataclass_fields__})
        bank = BankIndex(
            path,
            name,
            shards,
            info,
            n=int(info["n"]),
            patch_size=int(info["patch_size"]),
            aligned=bool(info["aligned"]),
            pairing=pairing,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ShardFormatError(f"{path}: bank section incomplete or malformed ({exc})") from None
    if bank.nsamples != bank.n:
        raise ShardFormatError(
            f"{path}: ivifdata.n is {bank.n} but the shardlist counts {bank.nsamples} samples"
        )
    return bank


def skipped_sources(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(path relative to its source root, reason) of every source image the build recorded in
    ``record`` (the parsed ``build.json``) as skipped."""
    return [(k["path"], k["reason"]) for s in record["sources"] for k in s["skipped"]]


def read_bank_index(outdir: str | Path) -> BankIndex:
    """The bank index of the build folder ``outdir``."""
    index = read_index(Path(outdir) / INDEX_FILE)
    if not isinstance(index, BankIndex):
        raise ShardFormatError(f"{index.path}: not a patch-bank index")
    return index


def sampler_from_index(index: BankIndex, seed: int | None = None) -> EpochSampler:
    """The pair sampler a bank index describes (``seed`` overrides the recipe's)."""
    p = index.pairing
    assert p is not None
    return EpochSampler(
        n=index.n,
        mode=p.mode,
        pairs_per_epoch=p.pairs_per_epoch,
        seed=p.seed if seed is None else seed,
        overask=p.overask,
    )


class BankReader:
    """Random access to the members of the bank shards of ``index`` (PNG/json bytes)."""

    def __init__(self, index: ShardIndex):
        self.paths = [index.shard_path(e) for e in index.shards]
        self.where: dict[tuple[str, str], tuple[int, int, int]] = {}
        for sid, path in enumerate(self.paths):
            for (key, field), (offset, size) in member_offsets(path).items():
                self.where[(key, field)] = (sid, offset, size)
        self.handles: dict[int, BinaryIO] = {}

    def read(self, k: int, field: str) -> bytes:
        """Field ``field`` of bank entry ``k``; ShardFormatError when the bank lacks it."""
        try:
            sid, offset, size = self.where[(BANK_KEY.format(k), field)]
        except KeyError:
            raise ShardFormatError(f"bank entry {k} has no field {field}") from None
        if sid not in self.handles:
            self.handles[sid] = open(self.paths[sid], "rb")
        handle = self.handles[sid]
        handle.seek(offset)
        return handle.read(size)

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def png_header(data: bytes) -> tuple[int, int, int, int]:
    """``(width, height, bit depth, colour type)`` from a PNG's IHDR chunk, without decoding;
    ValueError when ``data`` does not start like a PNG."""
    if len(data) < 33 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG (no signature and IHDR chunk)")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


def decode_png(data: bytes, size: int, where: str) -> np.ndarray:  # noqa: F821
    """A bank PNG -> ``(size, size)`` uint8 (0-255). The header's size, bit depth and colour
    type are checked before any pixel is decoded, so a crafted header cannot make this allocate
    more than the patch; ShardFormatError naming ``where`` when it is not such a PNG."""
    want = f"expected an 8-bit {size}x{size} gray PNG"
    try:
        width, height, depth, colour = png_header(data)
    except ValueError as exc:
        raise ShardFormatError(f"{where}: {want}, got {exc}") from None
    if (width, height, depth, colour) != (size, size, 8, PNG_GRAY):
        got = f"a header of {width}x{height}, bit depth {depth}, colour type {colour}"
        raise ShardFormatError(f"{where}: {want}, got {got} (not decoded)")
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.shape != (size, size) or image.dtype != np.uint8:
        got = "undecodable" if image is None else f"{image.dtype} {image.shape}"
        raise ShardFormatError(f"{where}: {want}, got {got}")
    return image


def sample_meta(data: bytes, where: str) -> dict[str, Any]:
    """The ``json`` field of a sample as a mapping holding ``ir`` and ``vis`` records."""
    try:
        meta = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShardFormatError(f"{where}: not UTF-8 JSON ({exc})") from None
    if not isinstance(meta, dict) or not {"ir", "vis"} <= set(meta):
        raise ShardFormatError(f"{where}: lacks the ir/vis source records")
    return meta
