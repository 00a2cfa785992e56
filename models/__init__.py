"""The paper's three lightweight fusion baselines, their released weights and tiled fusion."""

from .fuse import fuse_gray, fuse_images, to_uint8
from .registry import MODELS, create_model
from .weights import WeightsError, load_released

__all__ = [
    "MODELS",
    "WeightsError",
    "create_model",
    "fuse_gray",
    "fuse_images",
    "load_released",
    "to_uint8",
]
