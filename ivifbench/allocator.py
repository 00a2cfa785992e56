"""Keep freed memory for reuse in the ``ivifbench`` command processes (glibc only).

glibc gives every block above its mmap threshold (128 KiB at start, raised as large blocks are
freed) fresh pages from the OS and returns them on ``free``; it also returns free memory at
the top of the heap beyond its trim threshold. Metric code that makes image-sized numpy
temporaries on every call then pays a page fault per 4 KiB page touched (about 2 us here):
12,900 faults per call of Piella's Q0 on a 640 x 480 triple (49 ms, 23 ms without them), 12,600
per ``compute`` of the ``vifb`` defaults on the numpy path. The compiled kernels reuse their
buffers and barely notice.

:func:`keep_freed_memory` sets both thresholds so that such blocks come from, and go back to,
the process's heap. The cost: a process keeps up to :data:`TRIM_THRESHOLD` of freed memory
instead of returning it. The ``ivifbench`` commands and ``eval``'s workers call it; a program
that calls :func:`ivifbench.compute` itself may call it too (it changes the whole process).
"""

from __future__ import annotations

import ctypes
import sys

#: mallopt parameter numbers (glibc ``malloc.h``).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap (glibc's largest allowed value on 64-bit).
MMAP_THRESHOLD = 32 * 2**20
#: Free memory at the heap top kept for reuse rather than given back to the OS.
TRIM_THRESHOLD = 128 * 2**20


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds for this process (see the module docstring);
    return whether they were set (False off Linux or without glibc's ``mallopt``)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
