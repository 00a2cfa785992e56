"""prepare_for_inference: same outputs as the released networks, originals left untouched."""

import numpy as np
import pytest
import torch

from ivifdata.imageio import read_image
from ivifmodels.blocks import DenseLayer
from ivifmodels.colour import network_gray
from ivifmodels.inference import fold_batch_norm_into_conv, prepare_for_inference


@pytest.fixture(scope="module")
def real_tiles(models_data) -> torch.Tensor:
    """Three real 128 x 128 (IR, VIS) tiles of MSRS 00055D, (3, 2, 128, 128) in [0, 1]."""
    ir = network_gray(read_image(models_data / "msrs" / "ir" / "00055D.png")) / 255.0
    vis = network_gray(read_image(models_data / "msrs" / "vi" / "00055D.png")) / 255.0
    tiles = [
        np.stack([ir[y : y + 128, x : x + 128], vis[y : y + 128, x : x + 128]])
        for y, x in [(0, 0), (100, 250), (352, 512)]
    ]
    return torch.from_numpy(np.stack(tiles).astype(np.float32))


@pytest.mark.parametrize("name", ["cnn", "transformer", "gan"])
def test_prepared_network_gives_the_same_outputs(released, name, real_tiles):
    model = released(name)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fast = prepare_for_inference(model)
    with torch.inference_mode():
        want = model(real_tiles)
        got = fast(real_tiles.contiguous(memory_format=torch.channels_last))
        got_contiguous = fast(real_tiles)  # a contiguous input works too
    assert (got - want).abs().max() < 1e-6
    assert (got_contiguous - want).abs().max() < 1e-6
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # original untouched
    assert not any(
        isinstance(m, torch.nn.BatchNorm2d)
        for m in (layer.body[3] for layer in fast.modules() if isinstance(layer, DenseLayer))
    )


def test_fold_is_exact_on_a_trained_like_batch_norm():
    torch.manual_seed(0)
    conv, bn = torch.nn.Conv2d(6, 5, 1, bias=False), torch.nn.BatchNorm2d(5).eval()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2), bn.bias.uniform_(-1, 1)
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.1, 3)
    x = torch.randn(2, 6, 7, 9)
    want = bn(conv(x))
    fold_batch_norm_into_conv(conv, bn)
    assert torch.allclose(conv(x), want, atol=1e-6, rtol=0)
