"""The paper's three lightweight fusion baselines, their released weights and tiled fusion.

The names below are imported on first use (PEP 562), so that ``import ivifmodels.cli`` and
``ivifmodels --help`` do not import torch.
"""

from __future__ import annotations

from ivifdata import __version__ as __version__
from ivifdata.lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
