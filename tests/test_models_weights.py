"""Strict loading of the released checkpoints and its error messages."""

import re

import pytest
import torch

from ivifmodels import load_released
from ivifmodels.registry import create_model
from ivifmodels.weights import RENAMES, WeightsError, load_state, map_key, read_checkpoint


@pytest.mark.parametrize("name", ["cnn", "transformer", "gan"])
def test_released_checkpoint_loads_strictly(released, released_files, name):
    path = released_files[name]
    state = read_checkpoint(path)
    model = released(name)
    assert not model.training
    own = model.state_dict()
    mapped = {map_key(k, RENAMES[name], str(path)): v for k, v in state.items()}
    assert set(mapped) == set(own) and len(mapped) == len(state)  # every tensor used, once
    for key, tensor in mapped.items():
        assert torch.equal(own[key], tensor), key


def test_mapping_examples():
    cnn, trans = RENAMES["cnn"], RENAMES["transformer"]
    assert (
        map_key("dense_3.dense_block.1.change.5.weight", cnn, "f")
        == "dense3.layers.1.body.5.weight"
    )
    assert map_key("fus_2.eca.conv.weight", cnn, "f") == "fuse2.gate.conv.weight"
    assert map_key("up_2.upsampler.1.bias", cnn, "f") == "up2.conv.bias"
    assert map_key("trans_4.transformer_layers.0.attn.fn.t", trans, "f") == "enc4.attn.temperature"
    assert (
        map_key("trans_1.transformer_layers.0.ff.fn.net.3.weight", trans, "f") == "enc1.ff.2.weight"
    )
    assert map_key("fuse_0.eca.conv.mask", trans, "f") == "fuse0.gate.mask"


@pytest.fixture
def cnn_state(released_files):
    return read_checkpoint(released_files["cnn"])


def test_missing_tensor_is_named(cnn_state):
    del cnn_state["outchange.2.bias"]
    with pytest.raises(
        WeightsError, match=r"^ckpt\.model: no tensor for model key\(s\) head\.2\.bias$"
    ):
        load_state(create_model("cnn"), cnn_state, RENAMES["cnn"], "ckpt.model")


def test_unknown_key_is_named(cnn_state):
    cnn_state["extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match=r"ckpt\.model: key 'extra\.weight': no mapping rule"):
        load_state(create_model("cnn"), cnn_state, RENAMES["cnn"], "ckpt.model")


def test_shape_mismatch_is_named(cnn_state):
    cnn_state["inchange.0.weight"] = torch.zeros(16, 3, 1, 1)
    msg = re.escape("ckpt.model: key 'inchange.0.weight': checkpoint has (16, 3, 1, 1)")
    with pytest.raises(WeightsError, match=msg):
        load_state(create_model("cnn"), cnn_state, RENAMES["cnn"], "ckpt.model")


def test_wrong_model_for_checkpoint(cnn_state):
    with pytest.raises(WeightsError, match="key 'inchange.0.weight': no mapping rule"):
        load_state(create_model("transformer"), cnn_state, RENAMES["transformer"], "CNN.model")


def test_band_mask_must_be_the_band(released_files):
    state = read_checkpoint(released_files["transformer"])
    state["fuse_1.eca.conv.mask"] = torch.ones(96, 96)
    with pytest.raises(WeightsError, match="'fuse_1.eca.conv.mask': stored mask is not the band"):
        load_state(create_model("transformer"), state, RENAMES["transformer"], "T.model")


def test_unreadable_and_missing_files(tmp_path):
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match=re.escape(f"{junk}: not a readable PyTorch state dict")):
        load_released("cnn", junk)
    with pytest.raises(WeightsError, match="nope.model: weights file not found"):
        load_released("cnn", tmp_path / "nope.model")
    with pytest.raises(WeightsError, match="'gan_discriminator' has no released weights"):
        load_released("gan_discriminator", junk)


def test_default_location_from_environment(monkeypatch, models_data):
    monkeypatch.delenv("IVIF_WEIGHTS", raising=False)
    with pytest.raises(WeightsError, match="set IVIF_WEIGHTS to the folder holding GAN.model"):
        load_released("gan")
    monkeypatch.setenv("IVIF_WEIGHTS", str(models_data / "weights"))
    model = load_released("gan")
    assert torch.equal(
        model.head[2].bias,
        read_checkpoint(models_data / "weights" / "GAN.model")["outchange.2.bias"],
    )
