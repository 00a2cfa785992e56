"""Progress of long commands: one bar with a total on a terminal, a few plain lines otherwise.

Library code reports through a :data:`Progress` callable, ``progress(phase, count, total)``:
``count`` more items of ``phase`` are done, out of ``total`` for the phase (it may grow, e.g.
when the patch draw needs another round). :class:`Reporter` is the callable the CLIs pass.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[str, int, int], None]

#: plain-text mode prints a line each time a phase crosses another 1/LINES of its total.
LINES = 4


class Reporter:
    """A :data:`Progress` for a CLI: a tqdm bar with a total on a terminal (one at a time; a new
    phase closes the previous bar), else up to ``LINES + 1`` lines ``phase: done/total`` per
    phase and no escape codes (logs, CI)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.phase: str | None = None
        self.done = 0
        self.printed = -1  # the last quarter (of LINES) printed in plain mode
        self.bar = None

    def __call__(self, phase: str, count: int, total: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.done, self.printed = phase, 0, -1
        self.done += count
        if self.tty:
            self._bar_update(phase, count, total)
            return
        step = self.done * LINES // max(total, 1)
        if step > self.printed:
            self.printed = step
            print(f"{phase}: {self.done}/{total}", file=self.stream, flush=True)

    def _bar_update(self, phase: str, count: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(desc=phase, total=total, file=self.stream, leave=False)
        if self.bar.total != total:
            self.bar.total = total
            self.bar.refresh()
        self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
