"""Model registry: ``create_model(name, **cfg)`` builds a network by name."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .cnn import FusionCNN
from .gan import PatchDiscriminator
from .transformer import FusionTransformer

#: name -> constructor; keyword arguments of :func:`create_model` go to the constructor.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "cnn": FusionCNN,
    "transformer": FusionTransformer,
    "gan": FusionCNN,  # the GAN generator has the CNN structure (its own weights)
    "gan_discriminator": PatchDiscriminator,  # cfg: patch_size (default 128)
}


def create_model(name: str, **cfg) -> nn.Module:
    """Build the network registered as ``name`` (see :data:`MODELS`), freshly initialised."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}") from None
    return factory(**cfg)
