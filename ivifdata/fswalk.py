"""Walk a folder tree safely: follow symlinks once, report loops, broken links, empty folders."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WalkProblem:
    """A path found while walking that cannot be catalogued; ``kind`` is a short tag."""

    path: Path
    kind: str
    message: str


def bad_link(path: Path) -> WalkProblem:
    """Why a symlink leads to neither a file nor a folder: a loop of links, or a dead target."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return WalkProblem(path, "symlink loop", "symlink loop (links point at each other)")
        return WalkProblem(path, "broken symlink", f"broken symlink (-> {os.readlink(path)})")
    return WalkProblem(path, "not a file", "symlink to something that is not a regular file")


def walk_files(root: Path) -> tuple[list[Path], list[WalkProblem]]:
    """All regular files under ``root`` (sorted), and the problems met on the way.

    Symlinked folders are followed, but a folder whose real path was already entered is not
    entered again: if it is an ancestor of the link the link is reported as a ``symlink loop``,
    otherwise as a ``duplicate folder``. Broken links, unreadable and empty folders are reported.
    Hidden entries (names starting with ``.``) are skipped silently.
    """
    files: list[Path] = []
    problems: list[WalkProblem] = []
    entered: set[str] = set()

    def visit(folder: Path, ancestors: tuple[str, ...]) -> None:
        real = os.path.realpath(folder)
        if real in ancestors:
            problems.append(
                WalkProblem(folder, "symlink loop", f"symlink loop (points back to {real})")
            )
            return
        if real in entered:
            problems.append(
                WalkProblem(folder, "duplicate folder", f"already scanned as {real}; skipped")
            )
            return
        entered.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except PermissionError:
            problems.append(WalkProblem(folder, "unreadable", "cannot list folder (permission)"))
            return
        except OSError as exc:
            problems.append(WalkProblem(folder, "unreadable", f"cannot list folder ({exc})"))
            return
        if not entries:
            problems.append(WalkProblem(folder, "empty folder", "empty folder"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                is_file = entry.is_file(follow_symlinks=True)
            except OSError as exc:
                bad = bad_link(path) if entry.is_symlink() else None
                problems.append(bad or WalkProblem(path, "unreadable", f"cannot stat ({exc})"))
                continue
            if is_dir:
                visit(path, (*ancestors, real))
            elif is_file:
                files.append(path)
            elif entry.is_symlink():
                problems.append(bad_link(path))
            else:
                problems.append(WalkProblem(path, "not a file", "not a regular file"))

    visit(root, ())
    files.sort()
    return files, problems
