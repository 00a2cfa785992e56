"""Training losses of the baselines: the published content loss and our adversarial term.

All images are float tensors of shape (B, 1, H, W) with intensities in [0, 1] (not 0-255).
Every loss returned here is a 0-d tensor, a mean over all elements (unitless).

Content loss (published, ``../shared/BASELINES.md`` "Losses"): intensity imitation + gradient
imitation + SSIM term, each imitating the pixelwise "adaptive" mix of the two sources with
weights w(a, b) = a / (a + b + 1e-8). It reproduces the values of the paper's training code
to float32 rounding (``tests/test_losses.py``).

Adversarial term (not released by the paper, our choice, ``docs/losses.md``): least squares
(LSGAN, 0-1 coding). The discriminator scores the intensity-imitation target as real and the
fused image as fake; the generator adds ``ADVERSARIAL_WEIGHT`` times its adversarial loss to the
content loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from kornia.filters import filter2d, get_spatial_gradient_kernel2d
from kornia.metrics import ssim
from torch import nn

WEIGHT_EPS = 1e-8
"""Added to the denominator of the adaptive weight w(a, b) = a / (a + b + WEIGHT_EPS)."""

SOBEL_EPS = 1e-8
"""Added under the square root of the Sobel magnitude sqrt(gx^2 + gy^2 + SOBEL_EPS)."""

SSIM_WINDOW = 11
"""Side of the Gaussian SSIM window (sigma 1.5, kornia's fixed value), in pixels."""

SSIM_EPS = 1e-12
"""Added to the SSIM denominator (kornia's default, as in the published code)."""

SSIM_TERM_DIVISOR = 5.0
"""The published SSIM term is (1 - weighted mean SSIM) / 5."""

ADVERSARIAL_WEIGHT = 0.01
"""Weight of the generator's adversarial loss next to the content loss (our choice)."""

REAL_TARGET = 1.0
"""Least-squares target score for real inputs (the intensity-imitation target)."""

FAKE_TARGET = 0.0
"""Least-squares target score for fake inputs (fused images), for the discriminator."""


def _check_image_batch(name: str, image: torch.Tensor) -> None:
    """Raise ValueError unless ``image`` is a floating (B, 1, H, W) tensor large enough for SSIM."""
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(image).__name__}")
    if image.ndim != 4 or image.shape[1] != 1:
        raise ValueError(f"{name}: expected shape (B, 1, H, W), got {tuple(image.shape)}")
    if not image.is_floating_point():
        raise ValueError(f"{name}: expected a floating dtype in [0, 1], got {image.dtype}")
    min_side = SSIM_WINDOW // 2 + 1
    if image.shape[0] == 0 or min(image.shape[2:]) < min_side:
        raise ValueError(
            f"{name}: expected a non-empty batch of at least {min_side}x{min_side} pixels "
            f"(SSIM window {SSIM_WINDOW}, reflect padding), got {tuple(image.shape)}"
        )


def _check_same_shape(**images: torch.Tensor) -> None:
    """Check every image batch and that all have the same shape."""
    for name, image in images.items():
        _check_image_batch(name, image)
    shapes = {name: tuple(image.shape) for name, image in images.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"shape mismatch: {shapes}")


def adaptive_weight(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise w(a, b) = a / (a + b + 1e-8), in [0, 1] for non-negative inputs."""
    return a / (a + b + WEIGHT_EPS)


def imitation_target(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise adaptive mix w(a, b)·a + w(b, a)·b of two non-negative maps."""
    return adaptive_weight(a, b) * a + adaptive_weight(b, a) * b


def intensity_target(ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """Intensity-imitation target w(V, I)·V + w(I, V)·I, shape (B, 1, H, W), in [0, 1].

    The fused image imitates it (intensity loss); the discriminator scores it as real.
    """
    _check_same_shape(ir=ir, vis=vis)
    return imitation_target(vis, ir)


def sobel_magnitude(image: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude sqrt(gx^2 + gy^2 + 1e-8), zero padding, same shape as ``image``.

    Unnormalised 3x3 Sobel kernels (taps 1, 2, 1): a ramp of slope s per pixel gives 8·|s|.
    """
    kernels = get_spatial_gradient_kernel2d("sobel", 1, device=image.device, dtype=image.dtype)
    gx, gy = (filter2d(image, kernel[None], border_type="constant") for kernel in kernels)
    return torch.sqrt(gx * gx + gy * gy + SOBEL_EPS)


def normalized_gradient(image: torch.Tensor) -> torch.Tensor:
    """Sobel magnitude min-max normalised over the whole batch tensor to [0, 1].

    A batch with a constant magnitude (only an all-black batch, zero padding makes edges) maps to
    zeros instead of 0 / 0.
    """
    magnitude = sobel_magnitude(image)
    low = magnitude.min()
    span = (magnitude.max() - low).clamp_min(torch.finfo(magnitude.dtype).tiny)
    return (magnitude - low) / span


def mean_ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM over the batch: 11x11 Gaussian window (sigma 1.5), data range 1, 'same' padding.

    kornia's ``metrics.ssim`` map (reflect padding, eps 1e-12 in the denominator), averaged.
    """
    return ssim(a, b, SSIM_WINDOW, max_val=1.0, eps=SSIM_EPS, padding="same").mean()


@dataclass(frozen=True)
class ContentLossParts:
    """Named parts of the content loss, each a 0-d tensor (unitless); ``total`` is their sum."""

    intensity: torch.Tensor
    gradient: torch.Tensor
    ssim: torch.Tensor
    total: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        """The four parts as Python floats, for logging."""
        return {
            "intensity": self.intensity.item(),
            "gradient": self.gradient.item(),
            "ssim": self.ssim.item(),
            "total": self.total.item(),
        }


def intensity_loss(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between F and the intensity target w(V, I)·V + w(I, V)·I."""
    _check_same_shape(fused=fused, ir=ir, vis=vis)
    return (fused - imitation_target(vis, ir)).abs().mean()


def gradient_loss(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between G(F) and w(G(V), G(I))·G(V) + w(G(I), G(V))·G(I).

    G is the batch-normalised Sobel magnitude of :func:`normalized_gradient`, computed for each
    of F, I and V separately.
    """
    _check_same_shape(fused=fused, ir=ir, vis=vis)
    target = imitation_target(normalized_gradient(vis), normalized_gradient(ir))
    return (normalized_gradient(fused) - target).abs().mean()


def ssim_loss(fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """(1 - (s_I·w(s_I, s_V) + s_V·w(s_V, s_I))) / 5 with s_X = mean SSIM(X, F); 0 when F = I = V.

    Exactly 0 up to kornia's eps 1e-12 in the SSIM denominator: at most 2.3e-6 (black images).
    """
    _check_same_shape(fused=fused, ir=ir, vis=vis)
    ssim_ir = mean_ssim(ir, fused)
    ssim_vis = mean_ssim(vis, fused)
    return (1.0 - imitation_target(ssim_ir, ssim_vis)) / SSIM_TERM_DIVISOR


class ContentLoss(nn.Module):
    """The published content loss: intensity + gradient + SSIM term (no learnable parameters).

    ``forward(fused, ir, vis)`` takes three (B, 1, H, W) float batches in [0, 1] and returns
    :class:`ContentLossParts`; back-propagate ``parts.total``.
    """

    def forward(self, fused: torch.Tensor, ir: torch.Tensor, vis: torch.Tensor) -> ContentLossParts:
        intensity = intensity_loss(fused, ir, vis)
        gradient = gradient_loss(fused, ir, vis)
        ssim_term = ssim_loss(fused, ir, vis)
        return ContentLossParts(
            intensity=intensity,
            gradient=gradient,
            ssim=ssim_term,
            total=intensity + gradient + ssim_term,
        )


def _check_scores(**scores: torch.Tensor) -> None:
    """Raise ValueError unless all discriminator scores are non-empty floating tensors alike."""
    for name, value in scores.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
        if not value.is_floating_point() or value.numel() == 0:
            raise ValueError(
                f"{name}: expected a non-empty floating tensor, "
                f"got dtype {value.dtype} and shape {tuple(value.shape)}"
            )
    shapes = {name: tuple(value.shape) for name, value in scores.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"score shape mismatch: {shapes}")


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares discriminator loss ½·mean((D(real) − 1)²) + ½·mean((D(fake) − 0)²).

    ``real_scores``: D on the intensity-imitation target; ``fake_scores``: D on the fused image
    (detach it from the generator). Scores of any equal shape, e.g. (B, 1), in [-1, 1] for the
    Tanh discriminator.
    """
    _check_scores(real_scores=real_scores, fake_scores=fake_scores)
    real_term = (real_scores - REAL_TARGET).square().mean()
    fake_term = (fake_scores - FAKE_TARGET).square().mean()
    return 0.5 * (real_term + fake_term)


def generator_adversarial_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares generator loss ½·mean((D(F) − 1)²); add ``ADVERSARIAL_WEIGHT`` times it."""
    _check_scores(fake_scores=fake_scores)
    return 0.5 * (fake_scores - REAL_TARGET).square().mean()
