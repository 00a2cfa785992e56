"""Tests of ivifmodels.losses: the published content loss against the paper's code, and our GAN terms."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ivifmodels import losses
from ivifmodels.losses import (
    ContentLoss,
    adaptive_weight,
    discriminator_loss,
    generator_adversarial_loss,
    imitation_target,
    intensity_target,
    normalized_gradient,
    sobel_magnitude,
    ssim_loss,
)

DATA = Path(__file__).resolve().parent / "data" / "losses"
PARTS = ("intensity", "gradient", "ssim", "total")


@pytest.fixture(scope="module")
def batch() -> dict[str, torch.Tensor]:
    with np.load(DATA / "batch.npz") as arrays:
        return {name: torch.from_numpy(arrays[name]) for name in arrays.files}


@pytest.fixture(scope="module")
def reference() -> dict[str, dict[str, float]]:
    return json.loads((DATA / "values.json").read_text())


def reference_case(batch, name):
    """(fused, ir, vis) of one case of values.json."""
    ir, vis = batch["ir"], batch["vis"]
    if name == "swapped_pairs_fused_mean":
        vis = vis.flip(0)
        return (ir + vis) / 2, ir, vis
    return batch[name], ir, vis


@pytest.mark.parametrize("record_grad", [False, True], ids=["no_grad", "grad"])
@pytest.mark.parametrize("case", ["fused_cnn", "fused_mean", "swapped_pairs_fused_mean"])
def test_reproduces_published_values(batch, reference, case, record_grad):
    fused, ir, vis = reference_case(batch, case)
    fused = fused.clone().requires_grad_(record_grad)
    parts = ContentLoss()(fused, ir, vis).as_floats()
    for part in PARTS:
        assert parts[part] == pytest.approx(reference[case][part], rel=1e-6, abs=0), part


def test_parts_are_tensors_and_total_is_their_sum(batch):
    parts = ContentLoss()(batch["fused_cnn"], batch["ir"], batch["vis"])
    assert all(getattr(parts, p).ndim == 0 for p in PARTS)
    torch.testing.assert_close(parts.total, parts.intensity + parts.gradient + parts.ssim)


def test_adaptive_weights_sum_to_one_and_lie_in_unit_interval(batch):
    ir, vis = batch["ir"].double(), batch["vis"].double()
    w_vis, w_ir = adaptive_weight(vis, ir), adaptive_weight(ir, vis)
    assert bool(((w_vis >= 0) & (w_vis <= 1)).all())
    # w(a, b) + w(b, a) = (a + b) / (a + b + 1e-8): one up to 1e-8 / (a + b), 0 where a = b = 0
    total = w_vis + w_ir
    expected = (ir + vis) / (ir + vis + losses.WEIGHT_EPS)
    torch.testing.assert_close(total, expected, rtol=1e-15, atol=0)
    assert (total[(ir + vis) >= 1 / 255] - 1).abs().max() < 3e-6
    zero = torch.zeros(1, 1, 6, 6)
    assert adaptive_weight(zero, zero).abs().max() == 0


def test_equal_sources_give_half_weights_and_the_input_as_targets(batch):
    image = batch["vis"]
    positive = image > 0
    torch.testing.assert_close(
        adaptive_weight(image, image)[positive], torch.full_like(image[positive], 0.5)
    )
    torch.testing.assert_close(intensity_target(image, image), image, rtol=3e-6, atol=0)
    gradient = normalized_gradient(image)
    torch.testing.assert_close(imitation_target(gradient, gradient), gradient, rtol=0, atol=1e-7)


def test_content_loss_vanishes_when_fused_equals_both_sources(batch):
    image = batch["ir"]
    parts = ContentLoss()(image, image, image)
    assert parts.intensity.item() < 1e-8
    assert parts.gradient.item() < 1e-7
    assert abs(parts.ssim.item()) < 1e-6


def test_ssim_term_on_black_images_is_only_kornias_eps():
    black = torch.zeros(2, 1, 16, 16)
    c1, c2 = 0.01**2, 0.03**2
    expected = losses.SSIM_EPS / (c1 * c2 + losses.SSIM_EPS) / losses.SSIM_TERM_DIVISOR
    # float32: 1 - mean SSIM is resolved to a few ulps of 1 (6e-8 each), i.e. about 2 % here
    assert ssim_loss(black, black, black).item() == pytest.approx(expected, rel=0, abs=1e-7)


def test_sobel_magnitude_uses_zero_padding_and_unnormalised_kernels():
    ones = torch.ones(1, 1, 8, 8)
    magnitude = sobel_magnitude(ones)
    # interior: no gradient, only sqrt(1e-8); edges see the zero padding (taps 1, 2, 1)
    torch.testing.assert_close(magnitude[0, 0, 2:-2, 2:-2], torch.full((4, 4), 1e-4))
    torch.testing.assert_close(magnitude[0, 0, 0, 3], torch.tensor(4.0))
    torch.testing.assert_close(magnitude[0, 0, 0, 0], torch.tensor(18.0).sqrt())
    ramp = torch.arange(8.0).repeat(8, 1)[None, None] * 0.01
    torch.testing.assert_close(sobel_magnitude(ramp)[0, 0, 1:-1, 1:-1], torch.full((6, 6), 0.08))


def test_normalized_gradient_spans_the_whole_batch(batch):
    gradient = normalized_gradient(batch["ir"])
    assert gradient.min().item() == 0
    assert gradient.max().item() == 1
    per_image_max = gradient.amax(dim=(1, 2, 3))
    assert per_image_max.min().item() < 0.99  # one min-max for the batch, not one per image
    # zero padding gives a constant image edges; only black images have a flat magnitude
    black = torch.zeros(2, 1, 8, 8)
    assert torch.equal(normalized_gradient(black), black)


def test_gradient_flows_to_the_fused_image(batch):
    fused = batch["fused_mean"][:2].clone().requires_grad_(True)
    parts = ContentLoss()(fused, batch["ir"][:2], batch["vis"][:2])
    for name in ("intensity", "gradient", "ssim"):
        (grad,) = torch.autograd.grad(getattr(parts, name), fused, retain_graph=True)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0, name
    parts.total.backward()
    assert torch.isfinite(fused.grad).all() and fused.grad.abs().sum() > 0


def test_content_loss_gradient_matches_finite_differences():
    generator = torch.Generator().manual_seed(0)
    ir, vis, fused = (
        torch.rand(2, 1, 8, 8, generator=generator, dtype=torch.float64) for _ in range(3)
    )
    fused.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: ContentLoss()(f, ir, vis).total, (fused,))


@pytest.mark.parametrize(
    ("shapes", "dtype", "message"),
    [
        ([(2, 3, 16, 16)] * 3, torch.float32, r"fused: expected shape \(B, 1, H, W\)"),
        ([(1, 16, 16)] * 3, torch.float32, r"fused: expected shape \(B, 1, H, W\)"),
        ([(2, 1, 16, 16), (2, 1, 16, 16), (2, 1, 16, 15)], torch.float32, "shape mismatch"),
        ([(2, 1, 16, 16)] * 3, torch.uint8, "fused: expected a floating dtype"),
        ([(2, 1, 5, 16)] * 3, torch.float32, "at least 6x6 pixels"),
        ([(0, 1, 16, 16)] * 3, torch.float32, "non-empty batch"),
    ],
)
def test_content_loss_rejects_bad_shapes(shapes, dtype, message):
    fused, ir, vis = (torch.zeros(shape, dtype=dtype) for shape in shapes)
    with pytest.raises(ValueError, match=message):
        ContentLoss()(fused, ir, vis)


def test_content_loss_rejects_non_tensors():
    image = torch.zeros(1, 1, 16, 16)
    with pytest.raises(TypeError, match="vis: expected a torch.Tensor"):
        ContentLoss()(image, image, image.numpy())


def test_least_squares_discriminator_loss():
    real, fake = torch.ones(4, 1), torch.zeros(4, 1)
    assert discriminator_loss(real, fake).item() == 0
    assert discriminator_loss(fake, real).item() == 1
    assert discriminator_loss(torch.full((4, 1), 0.5), torch.full((4, 1), 0.5)).item() == 0.25
    with pytest.raises(ValueError, match="score shape mismatch"):
        discriminator_loss(torch.ones(4, 1), torch.ones(3, 1))
    with pytest.raises(ValueError, match="real_scores: expected a non-empty floating tensor"):
        discriminator_loss(torch.ones(4, 1, dtype=torch.int64), torch.ones(4, 1))


def test_least_squares_generator_loss_pushes_fake_scores_towards_real():
    fake = torch.tensor([[-1.0], [0.0], [0.5]], requires_grad=True)
    loss = generator_adversarial_loss(fake)
    assert loss.item() == pytest.approx(0.5 * (4 + 1 + 0.25) / 3)
    loss.backward()
    assert bool((fake.grad < 0).all())  # gradient descent raises every fake score
    assert generator_adversarial_loss(torch.ones(2, 1)).item() == 0
    with pytest.raises(ValueError, match="fake_scores: expected a non-empty floating tensor"):
        generator_adversarial_loss(torch.ones(0))
