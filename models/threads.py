"""How many CPU threads torch may use in one process, without oversubscribing the machine.

Rule (``docs/training.md``, ``docs/models.md``): an explicit ``--threads`` wins; else
``$OMP_NUM_THREADS`` when set; else the CPUs this process may run on (its affinity mask,
``os.sched_getaffinity``, which a container limit, ``taskset`` or a batch scheduler narrows)
divided by the processes of the job that share them (``$LOCAL_WORLD_SIZE`` under ``torchrun``,
or the caller's number of parallel workers), at least 1.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ivifdata.cli_common import usable_cpus


def _positive_int(text: str | None) -> int | None:
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def default_threads(processes: int | None = None, env: Mapping[str, str] | None = None) -> int:
    """Threads per process by the module's rule; ``processes`` (default: ``$LOCAL_WORLD_SIZE``
    or 1) run side by side on the same CPUs."""
    env = os.environ if env is None else env
    explicit = _positive_int(env.get("OMP_NUM_THREADS"))
    if explicit is not None:
        return explicit
    if processes is None:
        processes = _positive_int(env.get("LOCAL_WORLD_SIZE")) or 1
    return max(1, usable_cpus() // max(1, processes))


def set_threads(threads: int | None, processes: int | None = None) -> int:
    """Make torch use ``threads`` intra-op threads (None: :func:`default_threads`); returns it."""
    import torch  # here, so that choosing a number needs no torch import

    chosen = threads if threads is not None else default_threads(processes)
    torch.set_num_threads(chosen)
    return chosen
