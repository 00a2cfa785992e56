"""What a layout is: a pure mapping from a file's path (relative to the dataset root) to its role.

A layout never opens files. :meth:`Layout.assign` looks at one relative path and returns

* a :class:`Source` (an ir / vis / nir band of a pair, keyed by split, group and key),
* an :class:`Extra` (a file that belongs to the dataset but is not a fusion source, with why),
* an :class:`Ignored` (a known non-image side file: annotations, papers, code), or
* ``None`` when the path does not fit the layout's naming rules.

Files with the same ``(split, group, key)`` form one pair; an extra joins the pair with the same
``(split, group, key)``.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: The bands a pair can hold.
BANDS = ("ir", "vis", "nir")

#: Side files that come with the datasets and are never images (labels, papers, code).
SIDE_FILE_SUFFIXES = {
    ".txt": "annotation or text file",
    ".xml": "annotation (VOC xml)",
    ".json": "annotation (json)",
    ".pdf": "paper (pdf)",
    ".m": "code (MATLAB)",
    ".py": "code (Python)",
    ".md": "documentation",
    ".zip": "archive",
}

#: Operating-system metadata that is neither an image nor part of any dataset.
SYSTEM_FILES = frozenset({".ds_store", "desktop.ini"})


@dataclass(frozen=True)
class Source:
    """One band of a pair. ``illumination`` is ``day``/``night`` where the dataset says so."""

    band: str
    split: str = ""
    group: str = ""
    key: str = ""
    illumination: str = ""

    def __post_init__(self) -> None:
        if self.band not in BANDS:
            raise ValueError(f"band must be one of {BANDS}, got {self.band!r}")


@dataclass(frozen=True)
class Extra:
    """A dataset file that is not a fusion source; ``reason`` is composite, photo, thumbnail or
    unaligned."""

    reason: str
    split: str = ""
    group: str = ""
    key: str = ""


@dataclass(frozen=True)
class Ignored:
    """A known non-image side file (annotation, paper, code); ``reason`` says which."""

    reason: str


Assignment = Source | Extra | Ignored


def side_file(path: PurePosixPath) -> Ignored | None:
    """The :class:`Ignored` verdict for annotation/paper/code/OS files, else None."""
    if path.name.lower() in SYSTEM_FILES:
        return Ignored("operating-system metadata file")
    reason = SIDE_FILE_SUFFIXES.get(path.suffix.lower())
    return Ignored(reason) if reason else None


def is_thumbs_db(path: PurePosixPath) -> bool:
    """Windows Explorer thumbnail cache (``Thumbs.db``), shipped inside TNO and RoadScene."""
    return path.name.lower() == "thumbs.db"


_TOKEN_SPLIT = re.compile(r"[_\-\s.]+")
_ALNUM_SPLIT = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")


def name_tokens(stem: str) -> list[str]:
    """Lower-case tokens of a file stem, split at ``_ - . space`` and at letter/digit borders.

    ``"NIR_163dhvG"`` -> ``["nir", "163", "dhvg"]``; ``"Vis01"`` -> ``["vis", "01"]``.
    """
    tokens: list[str] = []
    for part in _TOKEN_SPLIT.split(stem):
        tokens.extend(t.lower() for t in _ALNUM_SPLIT.split(part) if t)
    return tokens


class Layout(ABC):
    """A raw dataset layout. Subclasses set ``name`` and implement ``matches`` and ``assign``."""

    #: Registry name (``--layout NAME``).
    name: str = ""
    #: One line saying how the layout is recognised (for messages and docs).
    signature: str = ""

    @abstractmethod
    def matches(self, root: Path) -> bool:
        """True when ``root`` looks like the root of this dataset (looks at folder names only)."""

    @abstractmethod
    def assign(self, rel: PurePosixPath, root: Path) -> Assignment | None:
        """The role of the file at ``rel`` (relative to the dataset ``root``), or None.

        Decided from names only; ``root`` is passed for layouts whose fields depend on the
        root folder itself (m3fd: ``M3FD_Fusion`` vs ``M3FD_Detection``).
        """

    def dataset_name(self, root: Path) -> str:
        """The ``dataset`` field written for files under ``root``."""
        return self.name


def child_dirs(root: Path) -> dict[str, str]:
    """Immediate sub-folders of ``root``: lower-case name -> real name (empty if unreadable).

    Uses ``os.scandir`` file types, so a folder of many images costs no ``stat`` per file.
    """
    try:
        with os.scandir(root) as entries:
            return {e.name.lower(): e.name for e in entries if _is_dir(e)}
    except OSError:
        return {}


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
