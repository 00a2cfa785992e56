"""One study cell in its own process: ``python -m ivifmodels.study.worker JOB.json THREADS``.

Used by ``ivifmodels study --workers N`` (N > 1). Prints the cell's result as one JSON line on
stdout; exits as soon as the study process that started it is gone (so a SIGKILLed study leaves
no orphan writing into its folder).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from .run import train_cell


def main(argv: list[str]) -> None:
    job_path, threads = Path(argv[0]), int(argv[1])
    parent = os.getppid()

    def watch(_record: dict[str, Any]) -> None:
        if os.getppid() != parent:
            os._exit(1)

    result = train_cell(json.loads(job_path.read_text()), threads, watch)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
