"""SIGTERM and SIGINT (Ctrl-C) as a request to stop training cleanly (``docs/training.md``).

While :meth:`StopSignals.installed` is active, either signal sets :attr:`StopSignals.signum`
instead of killing the process. The training loop then stops at the next step boundary and
writes a checkpoint. When the loop marks the current step *abortable* (one process, before
the step's first optimiser update), the signal also raises :class:`StepAborted` at once: the
unfinished step has changed no weight, so the checkpoint of the previous step is exact and the
process does not wait for a slow step to finish.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals turned into a stop request.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StepAborted(Exception):
    """Raised by the handler inside an abortable step (it changed nothing yet)."""


class StopSignals:
    """A stop request set by a signal; ``abortable`` says whether the handler may raise."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.abortable = False

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: remember the first signal; abort the step if allowed."""
        if self.signum is None:
            self.signum = signum
        if self.abortable:
            self.abortable = False
            raise StepAborted(signum)

    def commit(self, *_args: object) -> None:
        """From here on the step changes state and must finish (an optimiser pre-step hook)."""
        self.abortable = False

    @contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """Handle :data:`STOP_SIGNALS` inside the block (main thread only; a signal that was
        ignored, e.g. SIGINT of a background job, stays ignored); restore the handlers after."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {}
        for number in STOP_SIGNALS:
            if signal.getsignal(number) is not signal.SIG_IGN:
                previous[number] = signal.signal(number, self.handle)
        try:
            yield self
        finally:
            self.abortable = False
            for number, handler in previous.items():
                signal.signal(number, handler)
