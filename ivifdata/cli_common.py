"""Conventions shared by the three commands (``ivifdata``, ``ivifbench``, ``ivifmodels``).

Written once here, used by every command group:

* ``--version`` on every group, from the installed distribution's metadata (:data:`VERSION`;
  the version is defined once, in ``pyproject.toml``);
* one error style: an expected mistake prints one ``error: ...`` line on stderr naming the file,
  key or argument, and exits with status 2 (:func:`fail`); click's own usage errors (a missing
  option, a bad choice) are printed the same way, with a pointer to ``--help``; data problems
  exit with status 1 only where a command has ``--strict``;
* ``-o/--out`` always names an output path (:func:`out_option`);
* ``--workers`` has one default everywhere: the CPUs this process may run on
  (:func:`usable_cpus`);
* every ``--help`` ends with a one-line example (the ``epilog`` of each command);
* a full disk (or quota) ends any command with one ``error: ...`` line naming the file and the
  space left, exit status 1 (:func:`disk_full_message`); the atomic writes have removed their
  temporary file by then, so no output is left looking complete.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from ivifdata import __version__
from ivifdata.atomic import DISK_FULL_ERRNOS

#: Version of the installed toolkit (``pyproject.toml`` ``project.version``).
VERSION = __version__


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (2: usage error / bad input)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def disk_full_message(exc: OSError) -> str:
    """One line for a full disk: the file being written and the space left on its file system
    (MB = 10^6 bytes)."""
    path = Path(exc.filename) if exc.filename else None
    free = ""
    if path is not None:
        folder = next((p for p in (path, *path.parents) if p.exists()), None)
        if folder is not None:
            free = f" ({shutil.disk_usage(folder).free / 1e6:.0f} MB free)"
    where = f"{path}: " if path is not None else ""
    return f"{where}no space left on the device{free}; free some space and run the command again"


class CommandGroup(click.Group):
    """A click group whose usage errors read like every other error: ``error: ...``, exit 2."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            hint = ""
            ctx = getattr(exc, "ctx", None)
            if isinstance(exc, click.UsageError) and ctx is not None:
                hint = f" (see '{ctx.command_path} --help')"
            fail(f"{exc.format_message()}{hint}", exc.exit_code)
        except OSError as exc:
            if exc.errno not in DISK_FULL_ERRNOS:
                raise
            fail(disk_full_message(exc), 1)


def command_group(prog: str) -> Callable[[Callable], click.Group]:
    """Decorator for a top-level command group: :class:`CommandGroup` with ``--version``."""

    def decorate(func: Callable) -> click.Group:
        group = click.version_option(VERSION, prog_name=prog)(func)
        return click.group(cls=CommandGroup)(group)

    return decorate


def out_option(help_text: str, *, required: bool = True, file_okay: bool = False) -> Callable:
    """``-o/--out PATH``: where a command writes (a folder unless ``file_okay``)."""
    return click.option(
        "-o",
        "--out",
        "out",
        required=required,
        type=click.Path(file_okay=file_okay, dir_okay=not file_okay, path_type=Path),
        help=help_text,
    )


def workers_option(help_text: str = "Worker processes.") -> Callable:
    """``--workers N`` with the one default of the toolkit: :func:`usable_cpus`."""
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=usable_cpus,
        show_default="usable CPUs",
        help=help_text,
    )
