"""An exclusive, non-blocking lock on a folder (``flock`` on a lock file holding the pid).

The kernel drops the lock when its process dies (even by SIGKILL), so a stale lock file never
blocks a later run; the holder removes the file when it releases the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class FolderLocked(RuntimeError):
    """Another process holds the lock; ``pid`` is its process id (None when unknown)."""

    def __init__(self, path: Path, pid: int | None):
        self.path = path
        self.pid = pid
        super().__init__(f"{path}: locked by pid {pid if pid is not None else 'unknown'}")


def _holder(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the lock file ``path`` for the block; FolderLocked at once when
    another process holds it."""
    path = Path(path)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(fd)
            os.close(fd)
            raise FolderLocked(path, pid) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the previous holder removed the file while we waited: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)
