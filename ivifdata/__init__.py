"""ivifdata: raw IVIF dataset folders -> validated catalog -> recipe-driven training shards.

Public API (imported on first use, PEP 562, so that ``import ivifdata`` loads neither pandas nor
torch): ``scan`` (catalog a folder, pandas), ``load_recipe`` / ``build`` / ``verify`` (shards),
``make_loader`` (training batches, torch), ``read_image`` / ``read_gray`` / ``to_gray`` /
``ImageReadError`` (decoding), ``__version__`` (of the installed ``ivif`` distribution, the one
place it is defined being ``pyproject.toml``).
"""

from __future__ import annotations

from importlib import metadata

from ivifdata.lazy import lazy_exports

try:
    __version__ = metadata.version("ivif")
except metadata.PackageNotFoundError:  # a checkout that was never installed
    __version__ = "0+unknown"

#: public name -> submodule that defines it.
_EXPORTS = {
    "scan": "catalog",
    "ScanResult": "catalog",
    "load_recipe": "recipe",
    "RecipeError": "recipe",
    "build": "build",
    "BuildError": "build",
    "verify": "verify",
    "make_loader": "loader",
    "read_image": "imageio",
    "read_gray": "imageio",
    "to_gray": "imageio",
    "ImageReadError": "imageio",
}

__all__ = sorted([*_EXPORTS, "__version__"])


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
