"""Networks: parameter counts, shapes, registry, and the blocks against direct formulations."""

import pytest
import torch
import torch.nn.functional as F

from ivifmodels import MODELS, create_model
from ivifmodels.blocks import ChannelAttention, FusionBlock
from ivifmodels.gan import PatchDiscriminator


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "params", "mask_values"),
    [("cnn", 214_882, 0), ("transformer", 187_417, 50_176), ("gan", 214_882, 0)],
)
def test_parameter_counts_match_checkpoints(name, params, mask_values):
    model = create_model(name)
    assert n_params(model) == params
    masks = sum(b.numel() for k, b in model.named_buffers() if k.endswith("mask"))
    assert masks == mask_values


@pytest.mark.parametrize("name", ["cnn", "transformer", "gan"])
def test_fusion_network_shapes(name):
    torch.manual_seed(0)
    model = create_model(name).eval()
    with torch.no_grad():
        y = model(torch.rand(2, 2, 32, 48))
    assert y.shape == (2, 1, 32, 48)
    assert torch.isfinite(y).all() and y.abs().max() <= 1


def test_discriminator_patch_size_from_config():
    assert n_params(create_model("gan_discriminator")) == 350_173  # "about 350k" at 128 x 128
    disc = create_model("gan_discriminator", patch_size=32).eval()
    assert isinstance(disc, PatchDiscriminator)
    with torch.no_grad():
        score = disc(torch.rand(3, 1, 32, 32))
    assert score.shape == (3, 1) and score.abs().max() <= 1
    with pytest.raises(ValueError, match=r"expects \(B, 1, 32, 32\)"):
        disc(torch.rand(1, 1, 64, 64))


def test_registry_names_and_unknown_name():
    assert set(MODELS) == {"cnn", "transformer", "gan", "gan_discriminator"}
    with pytest.raises(ValueError, match="unknown model 'unet'.*cnn, transformer, gan"):
        create_model("unet")


def _randomise(module: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))


@pytest.mark.parametrize("c", [3, 16, 64])
def test_channel_attention_gram_form_equals_explicit_maps(c):
    attn = ChannelAttention(c)
    _randomise(attn, c)
    x = torch.randn(2, c, 24, 40) * 2 + 0.5
    with torch.no_grad():
        fast, direct = attn._attend_gram(x), attn._attend_maps(x)
    assert attn.gram and (fast - direct).abs().max() < 1e-4 * direct.abs().max()
    assert not ChannelAttention(c, kernel_size=3).gram  # 3x3 maps are not per-channel affine


def _token_reference(block: FusionBlock, x: torch.Tensor, gate: str) -> torch.Tensor:
    """The fusion block written per token, (B, HW, C), as BASELINES.md describes it."""
    b, c, h, w = x.shape
    t = F.gelu(block.expand(x.flatten(2).transpose(1, 2)))  # (B, HW, hidden)
    if gate == "eca":
        g = torch.sigmoid(block.gate.conv(t.mean(dim=1, keepdim=True)))  # (B, 1, hidden)
    else:
        avg = F.avg_pool1d(t.transpose(1, 2), 3, 1, 1).transpose(1, 2)
        g = torch.sigmoid(avg @ (block.gate.linear.weight * block.gate.mask).T)
    return block.project(t * g).transpose(1, 2).reshape(b, c, h, w)


@pytest.mark.parametrize("gate", ["eca", "band"])
def test_fusion_block_equals_per_token_formulation(gate):
    block = FusionBlock(12, 40, gate=gate)
    _randomise(block, 7)
    x = torch.randn(2, 12, 9, 14)
    with torch.no_grad():
        got, want = block(x), _token_reference(block, x, gate)
        got_cl = block(x.contiguous(memory_format=torch.channels_last))  # pixel-major path
    assert (got - want).abs().max() < 1e-5 * want.abs().max()
    assert (got_cl - want).abs().max() < 1e-5 * want.abs().max()
    assert got_cl.is_contiguous(memory_format=torch.channels_last)
