"""The paper's three lightweight fusion baselines, their released weights and tiled fusion.

The names below are imported on first use (PEP 562), so that ``import ivifmodels.cli`` and
``ivifmodels --help`` do not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from ivifdata import __version__ as __version__

#: public name -> submodule that defines it.
_EXPORTS = {
    "MODELS": "registry",
    "create_model": "registry",
    "WeightsError": "weights",
    "load_released": "weights",
    "fuse_gray": "fuse",
    "fuse_images": "fuse",
    "to_uint8": "fuse",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
