"""The paper's three lightweight fusion baselines, their released weights and tiled fusion."""

from .registry import MODELS, create_model
from .weights import WeightsError, load_released

__all__ = ["MODELS", "WeightsError", "create_model", "load_released"]
