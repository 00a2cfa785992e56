"""Content-hash cache of per-image metric values, so that re-running an evaluation is cheap.

One SQLite file (standard library) holds two tables:

* ``files``: path, size, mtime (ns) -> sha256 of the file's bytes. A file whose size and mtime
  are unchanged is not hashed again (the content hash stays the key; this only skips re-reading).
* ``values``: result key, metric name -> value. The result key is the sha256 of the three files'
  content hashes (fused, IR, VIS), the convention and the tool version, so renaming or moving
  images keeps their results, and changing any byte, the convention or the version does not.
  Values are stored per metric: asking for one more metric later computes only that one.
  A NaN value is stored as NULL (SQLite has no NaN) and read back as NaN.

A file that is not such a cache (not SQLite, or an SQLite database with other tables) is never
modified or replaced: opening it raises :class:`CacheError`.
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path

#: Bytes read at a time when hashing a file.
HASH_BLOCK = 1 << 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS "values" (
    key TEXT NOT NULL, metric TEXT NOT NULL, value REAL, PRIMARY KEY (key, metric)
);
"""


def default_cache_path() -> Path:
    """``$IVIFBENCH_CACHE`` if set, else ``$XDG_CACHE_HOME/ivifbench/values.sqlite``
    (``~/.cache`` when ``XDG_CACHE_HOME`` is unset)."""
    explicit = os.environ.get("IVIFBENCH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ivifbench" / "values.sqlite"


def sha256_file(path: Path) -> str:
    """Hex sha256 of the bytes of ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def result_key(fused_sha: str, ir_sha: str, vis_sha: str, convention: str, version: str) -> str:
    """Key of one (fused, IR, VIS) triple's values under ``convention`` and tool ``version``."""
    text = "\n".join(("ivifbench-values-v1", fused_sha, ir_sha, vis_sha, convention, version))
    return hashlib.sha256(text.encode()).hexdigest()


#: Tables of the cache; a database holding any other table is not an ivifbench cache.
TABLES = frozenset({"files", "values"})


class CacheError(ValueError):
    """The cache file is not an ivifbench value cache; ``str()`` names the file."""


class ValueCache:
    """Per-metric values keyed by :func:`result_key`, plus the file-hash index.

    Use as a context manager; pending writes are committed on exit. ``path=None`` keeps
    everything in memory (nothing is reused across runs).
    """

    def __init__(self, path: Path | None):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(":memory:" if path is None else str(path), timeout=60.0)
        try:
            found = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            other = sorted({row[0] for row in found} - TABLES)
            if other:
                raise CacheError(
                    f"{path}: not an ivifbench value cache (an SQLite database with tables "
                    f"{', '.join(other)}); pass another --cache file or --no-cache"
                )
            self._db.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
            self._db.execute("PRAGMA synchronous=NORMAL")  # power loss drops the last commits
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise CacheError(
                f"{path}: not an ivifbench value cache ({exc}); delete it (it only holds values "
                "that can be computed again), or pass another --cache file or --no-cache"
            ) from None
        except CacheError:
            self._db.close()
            raise

    def __enter__(self) -> ValueCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Commit and close the database."""
        self._db.commit()
        self._db.close()

    def file_sha256(self, path: Path) -> str:
        """sha256 of ``path``'s content, re-hashing only when its size or mtime changed."""
        resolved = str(path.resolve())
        stat = path.stat()
        row = self._db.execute(
            "SELECT size, mtime_ns, sha256 FROM files WHERE path = ?", (resolved,)
        ).fetchone()
        if row is not None and row[0] == stat.st_size and row[1] == stat.st_mtime_ns:
            return row[2]
        sha = sha256_file(path)
        self._db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
            (resolved, stat.st_size, stat.st_mtime_ns, sha),
        )
        return sha

    def get(self, key: str) -> dict[str, float]:
        """All stored metric values of ``key`` (empty when none); NULL comes back as NaN."""
        rows = self._db.execute('SELECT metric, value FROM "values" WHERE key = ?', (key,))
        return {metric: math.nan if value is None else value for metric, value in rows}

    def put(self, key: str, values: Mapping[str, float]) -> None:
        """Store ``values`` (metric -> value) under ``key``; NaN is stored as NULL."""
        self._db.executemany(
            'INSERT OR REPLACE INTO "values" VALUES (?, ?, ?)',
            [(key, metric, None if math.isnan(v) else float(v)) for metric, v in values.items()],
        )

    def commit(self) -> None:
        """Make the writes so far durable (called periodically during long runs)."""
        self._db.commit()
