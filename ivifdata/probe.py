"""Read one file once: hash its bytes and, for images, decode them fully (the corruption check)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from ivifdata.imageio import ImageReadError, decode_image_with_info

#: ImageReadError reason prefix -> problem kind.
_ERROR_KINDS = (
    ("empty file", "empty file"),
    ("not an image", "not an image"),
    ("corrupt", "corrupt image"),
)


@dataclass(frozen=True)
class Probe:
    """What reading one file gave. Image fields are None for non-images and failures.

    ``channels`` counts decoded channels (gray-in-3ch files give 1); ``mode`` is the PIL mode as
    stored; ``bit_depth`` is bits per sample (8 or 16).
    """

    bytes: int | None = None
    sha256: str = ""
    width: int | None = None
    height: int | None = None
    channels: int | None = None
    mode: str = ""
    bit_depth: int | None = None
    gray_in_3ch: bool | None = None
    error_kind: str = ""
    error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _error_kind(reason: str) -> str:
    for prefix, kind in _ERROR_KINDS:
        if reason.startswith(prefix):
            return kind
    return "unreadable"


def probe_file(path: str, decode: bool) -> Probe:
    """Read ``path`` once, sha256 the bytes and (if ``decode``) decode them with PIL."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except PermissionError:
        return Probe(error_kind="unreadable", error="permission denied")
    except OSError as exc:
        return Probe(error_kind="unreadable", error=f"cannot read ({exc.strerror or exc})")
    sha = hashlib.sha256(data).hexdigest()
    if not decode:
        return Probe(bytes=len(data), sha256=sha)
    try:
        _, info = decode_image_with_info(data, path)
    except ImageReadError as exc:
        return Probe(
            bytes=len(data), sha256=sha, error_kind=_error_kind(exc.reason), error=exc.reason
        )
    return Probe(
        bytes=len(data),
        sha256=sha,
        width=info.width,
        height=info.height,
        channels=info.channels,
        mode=info.mode,
        bit_depth=info.bit_depth,
        gray_in_3ch=info.gray_in_3ch,
    )


def probe_task(task: tuple[str, bool]) -> Probe:
    """:func:`probe_file` on a ``(path, decode)`` tuple (for ``Executor.map``)."""
    return probe_file(*task)
