"""Read one file once: hash its bytes and check the image in them.

Checks (``check`` argument): ``decode`` decodes every pixel (finds any corrupt or truncated
image; gives gray-in-3ch), ``header`` only verifies the header (and PNG chunk CRCs, see
:func:`ivifdata.imageio.verify_image_header`), ``none`` only hashes (non-image extras).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

from ivifdata.imageio import ImageReadError, decode_image_with_info, verify_image_header

CHECKS = ("decode", "header", "none")

#: ImageReadError reason prefix -> problem kind.
_ERROR_KINDS = (
    ("empty file", "empty file"),
    ("not an image", "not an image"),
    ("corrupt", "corrupt image"),
    ("image too large", "too large"),
)


@dataclass(frozen=True)
class Probe:
    """What reading one file gave. Image fields are None for non-images and failures.

    ``channels`` counts decoded channels (gray-in-3ch files give 1) after a ``decode`` check,
    stored channels after a ``header`` check (then ``gray_in_3ch`` is None: not checked);
    ``mode`` is the PIL mode as stored; ``bit_depth`` is bits per sample (8 or 16).
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
        """The fields as a flat dict (no deep copy: every field is a scalar)."""
        return {name: getattr(self, name) for name in _PROBE_FIELDS}


_PROBE_FIELDS = tuple(f.name for f in fields(Probe))


def _error_kind(reason: str) -> str:
    for prefix, kind in _ERROR_KINDS:
        if reason.startswith(prefix):
            return kind
    return "unreadable"


def probe_file(path: str, check: str) -> Probe:
    """Read ``path`` once, sha256 the bytes and check them as an image (``check`` in CHECKS)."""
    if check not in CHECKS:
        raise ValueError(f"check must be one of {CHECKS}, got {check!r}")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except PermissionError:
        return Probe(error_kind="unreadable", error="permission denied")
    except OSError as exc:
        return Probe(error_kind="unreadable", error=f"cannot read ({exc.strerror or exc})")
    sha = hashlib.sha256(data).hexdigest()
    if check == "none":
        return Probe(bytes=len(data), sha256=sha)
    try:
        if check == "decode":
            _, info = decode_image_with_info(data, path)
            gray3 = info.gray_in_3ch
        else:
            info = verify_image_header(data, path)
            gray3 = None
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
        gray_in_3ch=gray3,
    )


def probe_task(task: tuple[str, str]) -> Probe:
    """:func:`probe_file` on a ``(path, check)`` tuple (for ``Executor.map``)."""
    return probe_file(*task)
