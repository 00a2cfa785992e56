"""The output folder of ``ivifmodels fuse``: never an input folder, never a foreign file replaced.

- The output folder may not be, contain or lie inside an ``--ir`` / ``--vis`` folder (nor be
  the folder of a single input file); paths are compared after resolving symlinks.
- Each file fuse writes is recorded in ``OUTDIR/.ivifmodels-fuse.jsonl`` (one JSON object per
  line: ``file``, ``sha256`` of its bytes, ``model``), appended after the file is in place. An
  existing file is a *previous fuse output* when its name is recorded with the sha256 it still
  has; any other existing file is replaced only with ``--overwrite``.
- Files are written to a temporary name in the folder, then renamed; the folder itself is
  created only when the first file is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ivifdata.atomic import atomic_path

#: Record of the files written by fuse, inside the output folder.
MANIFEST = ".ivifmodels-fuse.jsonl"


class OutputFolderError(ValueError):
    """The output folder overlaps an input or holds files fuse may not replace."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_separate(outdir: Path, inputs: Iterable[tuple[str, Path]]) -> None:
    """OutputFolderError when ``outdir`` is, contains or is inside an input folder, or is the
    folder of an input file; ``inputs`` are (option name, path) pairs."""
    out = outdir.resolve()
    for option, path in inputs:
        real = path.resolve()
        if path.is_dir():
            if out == real or out.is_relative_to(real) or real.is_relative_to(out):
                raise OutputFolderError(
                    f"output folder {outdir} overlaps the {option} folder {path} (it is, "
                    "contains or lies inside it); write the results to a separate folder"
                )
        elif out == real.parent:
            raise OutputFolderError(
                f"output folder {outdir} holds the {option} file {path}; write the results to a "
                "separate folder"
            )


class FuseOutputs:
    """Writes fuse results into ``outdir`` and records them in :data:`MANIFEST`."""

    def __init__(self, outdir: Path, model: str):
        self.outdir = outdir
        self.model = model
        self.manifest = outdir / MANIFEST

    def recorded(self) -> dict[str, str]:
        """file name -> sha256 of the files recorded (the last record of a name wins; an
        incomplete or damaged line, e.g. from a crash while appending, is ignored)."""
        if not self.manifest.is_file():
            return {}
        found: dict[str, str] = {}
        for line in self.manifest.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
                found[str(record["file"])] = str(record["sha256"])
            except (ValueError, KeyError, TypeError):
                continue
        return found

    def foreign(self, names: Iterable[str]) -> list[Path]:
        """The files among ``names`` that exist in the folder and are not previous outputs."""
        recorded = self.recorded()
        taken = []
        for name in names:
            path = self.outdir / name
            if not os.path.lexists(path):
                continue
            if path.is_file() and not path.is_symlink() and recorded.get(name) == sha256_of(path):
                continue
            taken.append(path)
        return taken

    def check_replaceable(self, names: Iterable[str]) -> None:
        """OutputFolderError naming the existing files among ``names`` fuse did not write."""
        taken = self.foreign(names)
        if taken:
            more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
            raise OutputFolderError(
                f"{taken[0]}{more} already exist(s) and {'was' if not more else 'were'} not "
                f"written by ivifmodels fuse (no record in {MANIFEST}); pass --overwrite to "
                "replace them, or choose another output folder"
            )

    def write(self, name: str, write: Callable[[str], None]) -> Path:
        """Call ``write(tmp_path)``, rename the file onto ``outdir/name`` and record it."""
        self.outdir.mkdir(parents=True, exist_ok=True)
        path = self.outdir / name
        with atomic_path(path) as tmp:
            write(str(tmp))
            sha = sha256_of(tmp)
        line = json.dumps({"file": name, "sha256": sha, "model": self.model}) + "\n"
        with open(self.manifest, "a+b") as handle:
            if handle.seek(0, os.SEEK_END) > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line  # an earlier append was cut short: start a new line
            handle.write(line.encode())
        return path
