"""Deterministic webdataset tar shards and the ``wids`` shard index.

Shards are plain POSIX (ustar) tar files as ``webdataset`` reads them: one sample = consecutive
members ``<key>.<field>`` with a key without dots. Every header is fixed (mtime 0, uid/gid 0,
no user/group names, mode 0644) and members are written in the order given, so equal contents
give byte-identical files. Files are written with :mod:`ivifdata.atomic` (temporary name,
fsync, rename), so a shard that has its final name is complete.

The index is the ``wids`` shard-index format (``__kind__: wids-shard-index-v1``,
``wids_version: 1``, ``shardlist`` of ``{url, nsamples, filesize}``, URLs relative to the
index file), with a ``sha256`` per shard and an ``ivifdata`` section added; it is read by
:mod:`ivifdata.shardformat`.

Why not ``webdataset.TarWriter`` (a declared dependency): with ``mtime=0`` and empty
user/group it is byte-deterministic too, but (1) ``import webdataset`` imports torch (seconds,
and ``build`` would need torch), (2) it writes a sample's fields sorted by name, not in the
format's order ``ir.png, vis.png, json`` (every existing build's bytes would change), (3) in its
stream mode the archive is padded to 10,240-byte records, and (4) it reports neither the
members' data offsets nor the shard's sha256 and size, which the index records. The ustar
headers below are what TarWriter would emit, written by hand.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ivifdata.atomic import atomic_path, write_bytes_atomic

BLOCK = 512
WIDS_KIND = "wids-shard-index-v1"


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="strict")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def check_key(key: str) -> str:
    """``key`` if it is a valid sample key (non-empty, no dot, no slash), else ValueError."""
    if not key or "." in key or "/" in key:
        raise ValueError(f"sample key {key!r} must be non-empty without '.' or '/'")
    return key


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


HASH_SUFFIX = ".sha256"


def note_hash(path: Path, sha256: str, notes: Path) -> None:
    """Record in the folder ``notes`` the hex sha256 that ``path`` had when it was written."""
    write_bytes_atomic(notes / f"{path.name}{HASH_SUFFIX}", f"{sha256}\n".encode(), durable=False)


def unchanged(path: Path, notes: Path) -> str | None:
    """The sha256 of ``path`` when it equals the one :func:`note_hash` recorded in ``notes``;
    None when the file, the note, or the match is missing (the file must be written again)."""
    try:
        recorded = (notes / f"{path.name}{HASH_SUFFIX}").read_text().strip()
        actual = sha256_file(path)
    except OSError:
        return None
    return actual if actual == recorded else None


Sample = tuple[str, list[tuple[str, bytes]]]  # (key, [(field, bytes), ...])


def write_shard(path: str | Path, samples: Iterable[Sample]) -> dict[str, Any]:
    """Write ``samples`` to the tar ``path`` atomically; return its index entry.

    The entry holds ``url`` (the file name), ``nsamples``, ``filesize`` and ``sha256``.
    """
    path = Path(path)
    digest = hashlib.sha256()
    keys: list[str] = []
    position = 0
    with atomic_path(path) as partial, open(partial, "wb") as handle:

        def emit(chunk: bytes) -> None:
            nonlocal position
            handle.write(chunk)
            digest.update(chunk)
            position += len(chunk)

        for key, fields in samples:
            keys.append(check_key(key))
            for field, data in fields:
                emit(_header(f"{key}.{field}", len(data)))
                emit(data)
                emit(_padding(len(data)))
        emit(b"\0" * (2 * BLOCK))
        handle.close()
    return {
        "url": path.name,
        "nsamples": len(keys),
        "filesize": position,
        "sha256": digest.hexdigest(),
    }


def iter_shard(path: str | Path) -> Iterator[tuple[str, str, bytes]]:
    """Every member of the tar ``path`` as ``(key, field, bytes)``, in file order.

    Raises ``tarfile.TarError`` or ``ValueError`` on a damaged archive or a bad member name.
    """
    with tarfile.open(path, mode="r:") as archive:
        for member in archive:
            if not member.isfile():
                raise ValueError(f"{path}: member {member.name!r} is not a regular file")
            key, dot, field = member.name.partition(".")
            if not dot or "/" in member.name:
                raise ValueError(f"{path}: member {member.name!r} is not <key>.<field>")
            handle = archive.extractfile(member)
            assert handle is not None
            yield key, field, handle.read()


def iter_samples(path: str | Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """The samples of the tar ``path`` as ``(key, {field: bytes})`` (consecutive members with
    one key); ValueError when a field repeats within a sample."""
    key, fields = None, {}
    for k, field, data in iter_shard(path):
        if k != key:
            if key is not None:
                yield key, fields
            key, fields = k, {}
        if field in fields:
            raise ValueError(f"{path}: sample {k} has field {field} twice")
        fields[field] = data
    if key is not None:
        yield key, fields


def index_document(name: str, shards: list[dict[str, Any]], info: dict[str, Any]) -> dict:
    """The wids index mapping for ``shards`` (entries from :func:`write_shard`)."""
    return {
        "__kind__": WIDS_KIND,
        "wids_version": 1,
        "name": name,
        "shardlist": [{k: s[k] for k in ("url", "nsamples", "filesize", "sha256")} for s in shards],
        "ivifdata": info,
    }


def member_offsets(path: str | Path) -> dict[tuple[str, str], tuple[int, int]]:
    """``(key, field) -> (data offset, size)`` for every member of the tar ``path``."""
    with tarfile.open(path, mode="r:") as archive:
        return {tuple(m.name.split(".", 1)): (m.offset_data, m.size) for m in archive.getmembers()}
