"""Which files are images, and matching images across folders by file stem.

One extension list and one matcher, shared by the dataset layouts (``ivifdata scan``), the
fusion command (``ivifmodels fuse`` reads ``<stem>.*``, writes ``<stem>.png``) and the
evaluation (``ivifbench eval`` reads ``<stem>.*`` in each folder):

* an image is a file whose extension, in any case, is one of :data:`IMAGE_SUFFIXES`;
* hidden entries (names starting with ``.``) are ignored;
* a stem held by two or more images of one folder is ambiguous: none of them is used;
* everything else in the folder (sub-folders, other files, broken links) is listed with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ivifdata.fswalk import bad_link

#: Extensions (lower case) of the image files the toolkit reads; all decode with Pillow.
IMAGE_SUFFIXES = frozenset(
    {".bmp", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".pgm", ".ppm", ".pnm", ".webp"}
)


def is_image_name(path: Path) -> bool:
    """True when ``path``'s extension (any case) is an image extension."""
    return path.suffix.lower() in IMAGE_SUFFIXES


@dataclass
class FolderImages:
    """The images of one folder by stem, and what could not be used (``path -> reason``)."""

    by_stem: dict[str, Path] = field(default_factory=dict)
    ambiguous: dict[str, list[Path]] = field(default_factory=dict)
    other: dict[Path, str] = field(default_factory=dict)


def _not_an_image(entry: Path) -> str | None:
    """Why ``entry`` is not an image file, or None when it is one."""
    if entry.is_symlink() and not entry.exists():
        return bad_link(entry).message
    if entry.is_dir():
        return "a folder, not an image"
    if not is_image_name(entry):
        return f"extension {entry.suffix or '(none)'!r} is not an image extension"
    return None


def images_by_stem(folder: Path) -> FolderImages:
    """Index the images directly in ``folder`` (not recursive) by stem; see the module rules."""
    found: dict[str, list[Path]] = {}
    result = FolderImages()
    for entry in sorted(Path(folder).iterdir()):
        if entry.name.startswith("."):
            continue
        reason = _not_an_image(entry)
        if reason is None:
            found.setdefault(entry.stem, []).append(entry)
        else:
            result.other[entry] = reason
    for stem, paths in found.items():
        if len(paths) == 1:
            result.by_stem[stem] = paths[0]
        else:
            result.ambiguous[stem] = paths
    return result
