"""ivifbench.allocator: freed memory kept for reuse (glibc), measured by page faults."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import json, resource, sys
    import numpy as np
    from ivifbench import compute
    from ivifbench.allocator import keep_freed_memory

    kept = keep_freed_memory() if sys.argv[1] == "keep" else None
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (128, 160), dtype=np.uint8) for _ in range(3)]
    compute(*images, metrics=["Q0"])  # numpy temporaries of 160 KiB each
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        compute(*images, metrics=["Q0"])
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 3
    print(json.dumps({"kept": kept, "faults": faults}))
    """
)


def _probe(mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_kept_memory_ends_the_page_faults_of_numpy_temporaries() -> None:
    default, kept = _probe("default"), _probe("keep")
    if not kept["kept"]:
        pytest.skip("this C library has no mallopt (not glibc)")
    assert default["faults"] > 200  # the default glibc thresholds give pages back per call
    assert kept["faults"] < default["faults"] / 10
