"""``ivifmodels train`` after faults: cut log lines, damaged checkpoints, a full disk, a run
killed before its first checkpoint; the checkpoint interval and --threads."""

import errno
import io
import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from ivifdata import atomic as atomic_module
from ivifdata.atomic import PARTIAL_SUFFIX
from ivifmodels import train as train_module
from ivifmodels.cli import main
from ivifmodels.train import CHECKPOINT, LOG_FILE, MODEL_FILE, TrainConfig, Trainer


@pytest.fixture(autouse=True)
def one_thread():
    """One thread (steady on a shared machine; the CLI runs pass --threads), restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def train(tiny_bank: Path, out: Path, *extra: str):
    args = ["train", "--model", "cnn", "--batch", "4", "--threads", "1"]
    return CliRunner().invoke(main, [*args, "--shards", str(tiny_bank), "-o", str(out), *extra])


def steps(out: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (out / LOG_FILE).read_text().splitlines()]


def test_cut_last_log_line_is_dropped_on_resume(tiny_bank, tmp_path):
    out = tmp_path / "run"
    assert train(tiny_bank, out, "--max-steps", "2").exit_code == 0
    with open(out / LOG_FILE, "a") as handle:  # power loss while appending step 3
        handle.write('{"kind": "step", "epoch": 0, "st')
    result = train(tiny_bank, out, "--max-steps", "3", "--resume")
    assert result.exit_code == 0, result.output
    assert f"warning: {out / LOG_FILE}: dropped an incomplete last line" in result.stderr
    assert steps(out) == [1, 2, 3]


def test_damaged_log_line_before_the_end_is_an_error(tiny_bank, tmp_path):
    out = tmp_path / "run"
    assert train(tiny_bank, out, "--max-steps", "2").exit_code == 0
    (out / LOG_FILE).write_text("garbage\n" + (out / LOG_FILE).read_text())
    result = train(tiny_bank, out, "--max-steps", "3", "--resume")
    assert result.exit_code == 2 and "line 1 is not a log record" in result.output


def test_damaged_checkpoints_are_one_line_errors(tiny_bank, tmp_path):
    out = tmp_path / "run"
    assert train(tiny_bank, out, "--max-steps", "1").exit_code == 0
    state = torch.load(out / CHECKPOINT, weights_only=True)
    del state["config"]
    torch.save(state, out / CHECKPOINT)
    result = train(tiny_bank, out, "--resume")
    assert result.exit_code == 2, result.output
    assert "damaged training checkpoint (no valid config)" in result.output
    (out / CHECKPOINT).write_bytes(b"junk")
    result = train(tiny_bank, out, "--resume")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "not a readable PyTorch state dict (neither a PyTorch zip" in result.output
    assert "Weights only load failed" not in result.output


def test_run_killed_before_its_first_checkpoint_restarts(tiny_bank, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / LOG_FILE).write_text('{"kind": "step", "epoch": 0, "step": 1, "total": 1.0}\n{"ki')
    (out / f".{CHECKPOINT}.99999{PARTIAL_SUFFIX}").write_bytes(b"half a checkpoint")
    result = train(tiny_bank, out, "--resume")
    assert result.exit_code == 2 and "start again without --resume" in result.output
    result = train(tiny_bank, out, "--max-steps", "1")
    assert result.exit_code == 0, result.output
    assert f"replacing {LOG_FILE} of a run that wrote no checkpoint" in result.stderr
    assert steps(out) == [1] and not list(out.glob(f".*{PARTIAL_SUFFIX}"))
    # a model.pt without its last.pt is somebody's result: still refused
    (out / CHECKPOINT).unlink()
    result = train(tiny_bank, out, "--max-steps", "1")
    assert result.exit_code == 2 and f"holds another run ({MODEL_FILE})" in result.output


class FullDisk(io.FileIO):
    """A file on a full disk: the first write stores 100 bytes, then fails with ENOSPC."""

    def write(self, data):
        super().write(data[:100].encode() if isinstance(data, str) else bytes(data[:100]))
        raise OSError(errno.ENOSPC, "No space left on device")


def full_disk_for(monkeypatch, suffix: str) -> None:
    """Make ``open`` in models/train.py and ivifdata/atomic.py (the checkpoints) give
    :class:`FullDisk` for paths ending in ``suffix``."""

    def fake_open(path, mode="r", *args, **kwargs):
        if str(path).endswith(suffix):
            return FullDisk(path, "a" if "a" in mode else "w")
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(train_module, "open", fake_open, raising=False)
    monkeypatch.setattr(atomic_module, "open", fake_open, raising=False)


@pytest.mark.parametrize(("suffix", "name"), [(PARTIAL_SUFFIX, CHECKPOINT), (LOG_FILE, LOG_FILE)])
def test_full_disk_is_one_error_line_and_leaves_no_temporary_file(
    tiny_bank, tmp_path, monkeypatch, suffix, name
):
    out = tmp_path / "run"
    full_disk_for(monkeypatch, suffix)
    result = train(tiny_bank, out, "--max-steps", "1")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {out}: no space left on the device")
    assert f"while writing {name} (needs " in lines[0] and "free" in lines[0]
    assert "Traceback" not in result.stderr
    assert not list(out.glob(f".*{PARTIAL_SUFFIX}")) and not (out / CHECKPOINT).exists()
    monkeypatch.undo()  # space freed: the same command starts again (a cut log line is dropped)
    result = train(tiny_bank, out, "--max-steps", "1")
    assert result.exit_code == 0, result.output
    assert steps(out) == [1]


def test_checkpoints_by_time(tiny_bank, tmp_path, checkpoint_steps):
    config = TrainConfig(
        model="cnn", shards=str(tiny_bank), epochs=2, batch=4, max_steps=3, checkpoint_seconds=1e-9
    )
    trainer = Trainer(config, tmp_path / "run", progress_bar=False)
    written = checkpoint_steps
    trainer.run()
    assert written == [1, 2, 3]  # the interval passed after every step


@pytest.mark.parametrize(
    ("given", "every", "seconds"),
    [(None, None, 300.0), ("90s", None, 90.0), ("2min", None, 120.0), ("3", 3, None)],
)
def test_checkpoint_every_option(tiny_bank, tmp_path, given, every, seconds):
    extra = ["--checkpoint-every", given] if given else []
    result = train(tiny_bank, tmp_path / "run", "--max-steps", "1", "--threads", "2", *extra)
    assert result.exit_code == 0, result.output
    saved = torch.load(tmp_path / "run" / CHECKPOINT, weights_only=True)["config"]
    assert (saved["checkpoint_every"], saved["checkpoint_seconds"]) == (every, seconds)
    assert torch.get_num_threads() == 2  # --threads was applied


@pytest.mark.parametrize("bad", ["0", "-5", "0s", "5 days", "1.5"])
def test_checkpoint_every_refuses_bad_values(tiny_bank, tmp_path, bad):
    result = train(tiny_bank, tmp_path / "run", "--checkpoint-every", bad)
    assert result.exit_code == 2 and "--checkpoint-every" in result.output
    assert not (tmp_path / "run").exists()
