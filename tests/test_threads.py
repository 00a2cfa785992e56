"""The CPU thread rule of ``ivifmodels fuse`` / ``train`` (``models/threads.py``)."""

import pytest
import torch
from click.testing import CliRunner

from ivifmodels import threads
from ivifmodels.cli import main


@pytest.fixture
def four_cpus(monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)


def test_default_threads_rule(four_cpus):
    assert threads.usable_cpus() == 4
    assert threads.default_threads(env={}) == 4
    assert threads.default_threads(env={"LOCAL_WORLD_SIZE": "2"}) == 2  # torchrun, 2 processes
    assert threads.default_threads(processes=3, env={}) == 1
    assert threads.default_threads(processes=8, env={}) == 1  # never 0
    assert threads.default_threads(env={"OMP_NUM_THREADS": "3", "LOCAL_WORLD_SIZE": "4"}) == 3
    assert threads.default_threads(env={"OMP_NUM_THREADS": "zero"}) == 4  # not a number: ignored


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("given", [None, 1])
def test_fuse_threads_option(
    tmp_path, released_files, four_cpus, monkeypatch, restore_threads, given
):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    torch.set_num_threads(2)
    args = ["fuse", "--model", "cnn", "--weights", str(released_files["cnn"])]
    args += ["--ir", str(tmp_path / "nothing"), "--vis", str(tmp_path / "nothing")]
    (tmp_path / "nothing").mkdir()
    args += ["-o", str(tmp_path / "out")]
    if given:
        args += ["--threads", str(given)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "no IR/VIS pairs found" in result.output  # after the rule
    assert torch.get_num_threads() == (given or 4)
