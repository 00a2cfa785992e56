"""SIGTERM / SIGINT during ``ivifmodels train`` (a real process that the test signals): a
checkpoint is written, the run resumes from it, and it continues exactly."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ivifmodels.train import CHECKPOINT, LOG_FILE, TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]


def logged_steps(out: Path) -> list[int]:
    path = out / LOG_FILE
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
    return [r["step"] for r in records if r["kind"] == "step"]


def _default_interrupt() -> None:
    """In the child before exec: SIGINT back to its default. A test runner started in the
    background (``cmd &`` in a script) passes SIGINT on as ignored, and the trainer rightly
    keeps an ignored signal ignored, which would make the SIGINT case fail there."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(command: list[str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_default_interrupt,
    )


def signal_after_first_step(process: subprocess.Popen, out: Path, signum: int) -> tuple[int, str]:
    """Send ``signum`` once the run has logged a step; (exit status, stderr)."""
    deadline = time.monotonic() + 180
    while not logged_steps(out):
        assert process.poll() is None, process.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "no step logged in 180 s"
        time.sleep(0.02)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=180)
    return process.returncode, stderr.decode()


def train_command(tiny_bank: Path, out: Path, *extra: str) -> list[str]:
    args = ["-m", "ivifmodels", "train", "--model", "cnn", "--shards", str(tiny_bank)]
    return [sys.executable, *args, "-o", str(out), "--threads", "1", *extra]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_writes_a_checkpoint_that_resumes_exactly(tiny_bank, tmp_path, signum):
    out = tmp_path / "run"
    # batch 1: 16 steps per epoch, so the signal comes before the first epoch-end checkpoint
    process = start(train_command(tiny_bank, out, "--batch", "1", "--max-steps", "400"))
    status, stderr = signal_after_first_step(process, out, signum)
    assert status == 128 + signum, stderr[-2000:]
    assert f"stopped by {signal.Signals(signum).name} at epoch 1, step " in stderr
    assert "continue with --resume" in stderr and "Traceback" not in stderr
    saved = torch.load(out / CHECKPOINT, weights_only=True)
    step = saved["progress"]["step"]
    assert 1 <= step < 400 and logged_steps(out)[-1] >= step
    # resume two more steps in this process; compare with a run that was never stopped
    config = TrainConfig(
        model="cnn", shards=str(tiny_bank.resolve()), epochs=2, batch=1, max_steps=step + 2
    )
    torch.set_num_threads(1)
    Trainer(config, out, resume=True, progress_bar=False).run()
    Trainer(config, tmp_path / "straight", progress_bar=False).run()
    resumed, straight = (
        torch.load(folder / CHECKPOINT, weights_only=True)
        for folder in (out, tmp_path / "straight")
    )
    assert resumed["progress"] == straight["progress"]
    for key, tensor in straight["networks"]["fusion"].items():
        assert torch.equal(resumed["networks"]["fusion"][key], tensor), key
    assert logged_steps(out) == list(range(1, step + 3))


@pytest.mark.slow
def test_torchrun_ranks_stop_together_with_a_checkpoint(tiny_bank, tmp_path):
    """SIGTERM to torchrun: it forwards the signal, both ranks stop after the same step and
    rank 0 writes the checkpoint before either exits."""
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    command += train_command(tiny_bank, out, "--model", "gan", "--batch", "1", "--epochs", "50")[1:]
    process = start(command)
    status, stderr = signal_after_first_step(process, out, signal.SIGTERM)
    assert status != 0
    assert stderr.count("stopped by SIGTERM") == 2, stderr[-3000:]
    saved = torch.load(out / CHECKPOINT, weights_only=True)
    assert saved["config"]["world_size"] == 2
    assert saved["progress"]["step"] == logged_steps(out)[-1] >= 1
    assert saved["progress"]["epoch"] < 50
