"""Weights errors say whose checkpoint a file is and what to use instead, in one line."""

import collections
import pickle
import re
import zipfile

import pytest
import torch
from click.testing import CliRunner

from ivifmodels.cli import main
from ivifmodels.registry import create_model
from ivifmodels.weights import WeightsError, load_released, read_checkpoint


def error_of(name, path) -> str:
    with pytest.raises(WeightsError) as caught:
        load_released(name, path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_checkpoint_of_another_model_is_named(released_files):
    message = error_of("cnn", released_files["transformer"])
    assert "is for transformer (the keys of Trans.model), not cnn" in message
    assert message.endswith("pass --model transformer")
    message = error_of("transformer", released_files["gan"])
    assert "is for cnn or gan (the keys of CNN.model / GAN.model), not transformer" in message


def test_training_checkpoint_points_to_model_pt(tmp_path):
    last = tmp_path / "last.pt"
    torch.save({"format": "ivif-train-1", "config": {}, "networks": {}}, last)
    assert "this is a training checkpoint (last.pt of ivifmodels train): use model.pt" in error_of(
        "cnn", last
    )


def test_own_key_layout_is_recognised(tmp_path):
    path = tmp_path / "state.pt"
    torch.save(create_model("transformer").state_dict(), path)
    assert "state_dict() of a transformer network in ivifmodels' own key layout" in error_of(
        "transformer", path
    )


def write_files(folder):
    (folder / "junk.model").write_bytes(b"not a checkpoint")
    (folder / "script.model").write_text("print('hello')\n" * 50)
    (folder / "empty.model").write_bytes(b"")
    (folder / "objects.model").write_bytes(pickle.dumps(collections.OrderedDict(a=print)))
    with zipfile.ZipFile(folder / "archive.model", "w") as archive:
        archive.writestr("x", "y")
    torch.save({"w": torch.zeros(4096)}, folder / "full.pt")
    data = (folder / "full.pt").read_bytes()
    (folder / "truncated.model").write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("junk.model", "neither a PyTorch zip archive nor a pickle"),
        ("script.model", "neither a PyTorch zip archive nor a pickle"),
        ("empty.model", "the file is empty"),
        ("objects.model", "holds Python objects other than tensors"),
        ("archive.model", "a zip archive torch cannot read"),
        ("truncated.model", "a zip archive torch cannot read (damaged, truncated"),
    ],
)
def test_unreadable_files_get_one_short_line(tmp_path, name, reason):
    write_files(tmp_path)
    message = error_of("cnn", tmp_path / name)
    assert re.fullmatch(
        re.escape(f"{tmp_path / name}: not a readable PyTorch state dict (") + ".*\\)", message
    )
    assert reason in message and len(message) < len(str(tmp_path)) + 160


def test_cli_reports_the_model_of_the_checkpoint(tmp_path, released_files):
    (tmp_path / "ir.png").write_bytes(b"")
    args = ["fuse", "--model", "gan", "--weights", str(released_files["transformer"])]
    args += ["--ir", str(tmp_path / "ir.png"), "--vis", str(tmp_path / "ir.png")]
    result = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "out"), "--threads", "1"])
    assert result.exit_code == 2 and "pass --model transformer" in result.output
    assert read_checkpoint(released_files["cnn"])  # the released files still read
