"""Benchmark ``<tool> <command> --help`` start-up (ivifdata, ivifmodels, ivifbench) against a
bare interpreter.

Times, in fresh interpreters and round-robin ``--repeat`` times (best kept, the machine may be
shared): ``python -c pass`` (the baseline: interpreter start-up alone), ``python -c "import
click"`` (the CLI framework), ``python -c "import torch"`` (what the ivifmodels commands no
longer import for ``--help``), and ``python -m <tool>.cli [COMMAND] --help`` for each group and
command. Prints seconds, the ratio to the baseline, and whether each is under the 0.5 s
target of issue 9. Usage: ``python benchmarks/cli_help.py [--repeat R]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

COMMANDS = {
    "ivifdata": ["", "scan", "build", "verify", "inspect"],
    "ivifmodels": ["", "fuse", "train"],
    "ivifbench": ["", "metrics"],
}
TARGET_S = 0.5


def timed(argv: list[str]) -> float:
    """Wall seconds of one run of ``argv`` (output discarded; failure raises)."""
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runs = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import click": [sys.executable, "-c", "import click"],
        "import torch": [sys.executable, "-c", "import torch"],
    }
    for tool, commands in COMMANDS.items():
        for command in commands:
            name = f"{tool} {command} --help".replace("  ", " ")
            runs[name] = [
                sys.executable,
                "-m",
                f"{tool}.cli",
                *([command] if command else []),
                "--help",
            ]
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(args.repeat):
        for name, argv in runs.items():
            best[name] = min(best[name], timed(argv))
    print(f"load average {os.getloadavg()[0]:.2f} (1 min), best of {args.repeat}")
    base = best["python -c pass"]
    for name, seconds in best.items():
        verdict = (
            ""
            if name.startswith(("python", "import"))
            else ("  < 0.5 s" if seconds < TARGET_S else "  OVER 0.5 s")
        )
        print(f"{name:28s} {seconds:6.3f} s  {seconds / base:5.1f}x baseline{verdict}")


if __name__ == "__main__":
    main()
