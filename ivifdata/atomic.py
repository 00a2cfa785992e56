"""Atomic file writing, the one rule every package uses for its outputs.

A file that has its final name is complete: it is written under a temporary name in the same
folder (``.<name>.<pid>.partial``: hidden, one per process), flushed to disk when ``durable``,
then renamed onto the final name (atomic on one file system). On any error, interruption
included, the temporary file is removed and the final name is left as it was; a full disk
raises an ``OSError`` (errno in :data:`DISK_FULL_ERRNOS`) that names the output file.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: errno values of a full file system or an exhausted quota (what a failed write raises).
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
#: Suffix of every temporary file written by :func:`atomic_path`.
PARTIAL_SUFFIX = ".partial"


def partial_path(path: Path) -> Path:
    """The temporary name :func:`atomic_path` uses for ``path`` in this process."""
    return path.with_name(f".{path.name}.{os.getpid()}{PARTIAL_SUFFIX}")


@contextmanager
def atomic_path(path: str | Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; commit it when the block ends.

    ``durable``: fsync the file before the rename (outputs; working files that only need to
    survive a killed process may skip it).
    """
    path = Path(path)
    tmp = partial_path(path)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS and not exc.filename:
            # a failed write() names no file: name the output, for the one-line error
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, durable=durable) as tmp, open(tmp, "wb") as handle:
        handle.write(data)


def write_text_atomic(path: str | Path, text: str, *, durable: bool = True) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"), durable=durable)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as sorted, indented ASCII JSON (deterministic bytes), atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=True) + "\n")
