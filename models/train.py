"""Training of the baselines on a patch bank built by ``ivifdata build`` (``ivifmodels train``).

One process on CPU or GPU, or many under ``torchrun`` (DDP, see :func:`distributed_context`).
Batches come from :func:`ivifdata.loader.make_loader` (``(B, 1, S, S)`` float32 in [0, 1]);
epoch ``e`` re-draws its pairs (``set_epoch(e)``). Objectives (``docs/losses.md``):

- ``cnn``, ``transformer``: the published content loss, Adam.
- ``gan``: generator = content + ``ADVERSARIAL_WEIGHT`` x least-squares adversarial loss; the
  discriminator (patch size = the bank's) scores the intensity target as real and the detached
  fused batch as fake, in one forward pass of ``cat([real, fake])``; one Adam per network.

Output folder (written by rank 0 only): ``last.pt`` (everything needed to resume exactly),
``model.pt`` (the fusion network in the released key layout, for ``ivifmodels fuse
--weights``) and ``log.jsonl`` (one JSON object per step and per epoch). SIGTERM and SIGINT
stop the run with a checkpoint (:mod:`ivifmodels.signals`, all ranks at the same step).
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from ivifdata.atomic import (
    DISK_FULL_ERRNOS,
    PARTIAL_SUFFIX,
    write_bytes_atomic,
    write_text_atomic,
)
from ivifdata.loader import make_loader
from ivifdata.shardformat import INDEX_FILE

from .losses import (
    ADVERSARIAL_WEIGHT,
    ContentLoss,
    discriminator_loss,
    generator_adversarial_loss,
    intensity_target,
)
from .names import DEFAULT_CHECKPOINT_MINUTES, TRAIN_CHECKPOINT_FORMAT
from .registry import create_model
from .signals import StepAborted, StopSignals
from .weights import WeightsError, load_torch_file, to_released

CHECKPOINT = "last.pt"
MODEL_FILE = "model.pt"
LOG_FILE = "log.jsonl"
CHECKPOINT_FORMAT = TRAIN_CHECKPOINT_FORMAT
#: config keys that must match when a run is resumed (the others may change, e.g. epochs).
RUN_IDENTITY = ("model", "shards", "batch", "lr", "seed", "pair_seed", "world_size")


class TrainError(ValueError):
    """A training run cannot start (bad shard folder, output folder conflict); names the path."""


class DiskFullError(Exception):
    """The output folder's file system is full; ``str()`` names the folder and the space."""

    def __init__(self, path: Path, needed: int):
        free = shutil.disk_usage(path.parent).free
        super().__init__(
            f"{path.parent}: no space left on the device while writing {path.name} (needs "
            f"{_size(needed)} more, {_size(free)} free); free some space and run again (with "
            f"--resume if {path.parent / 'last.pt'} exists)"
        )


class TrainInterrupted(Exception):
    """The run stopped on SIGTERM / SIGINT after writing its checkpoint."""

    def __init__(self, signum: int | None, progress: Progress, checkpoint: Path | None):
        self.signum = signum if signum is not None else signal.SIGTERM
        name = signal.Signals(self.signum).name if signum is not None else "another rank's signal"
        where = f"epoch {progress.epoch + 1}, step {progress.step}"
        saved = f"wrote {checkpoint}; continue with --resume" if checkpoint else "rank 0 saves"
        super().__init__(f"stopped by {name} at {where}: {saved}")


def _size(n: int) -> str:
    """Bytes as a short human-readable size (decimal units)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one run; ``batch`` is per process, ``lr`` Adam's learning rate."""

    model: str
    shards: str
    epochs: int
    batch: int = 8
    lr: float = 1e-4
    seed: int = 0
    pair_seed: int | None = None  # None: the recipe's pairing seed
    max_steps: int | None = None  # stop (and checkpoint) after this many steps in all
    checkpoint_every: int | None = None  # also checkpoint every this many steps
    checkpoint_seconds: float | None = 60.0 * DEFAULT_CHECKPOINT_MINUTES  # and this often
    device: str = "cpu"
    world_size: int = 1


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands: rank among world_size, local_rank on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_writer(self) -> bool:
        return self.rank == 0


def distributed_context(env: dict[str, str] | None = None) -> DistributedContext:
    """Rank, world size and local rank from torchrun's ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``
    (a single process when they are absent)."""
    env = os.environ if env is None else env
    if "WORLD_SIZE" not in env:
        return DistributedContext()
    return DistributedContext(
        rank=int(env["RANK"]),
        world_size=int(env["WORLD_SIZE"]),
        local_rank=int(env.get("LOCAL_RANK", 0)),
    )


def unwrap(net: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (or ``net`` itself)."""
    return net.module if isinstance(net, DistributedDataParallel) else net


class ContentObjective:
    """Fusion network trained with the content loss alone (cnn, transformer)."""

    def __init__(self, name: str, patch_size: int, device: torch.device):
        self.networks: dict[str, nn.Module] = {"fusion": create_model(name).to(device)}
        self.loss = ContentLoss()
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    def build_optimizers(self, lr: float) -> None:
        self.optimizers = {
            key: torch.optim.Adam(net.parameters(), lr=lr) for key, net in self.networks.items()
        }

    def fuse(self, ir: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
        return self.networks["fusion"](torch.cat([ir, vis], 1))

    def step(self, ir: torch.Tensor, vis: torch.Tensor) -> dict[str, float]:
        """One Adam step on a batch; returns the loss parts (unitless floats)."""
        optimizer = self.optimizers["fusion"]
        optimizer.zero_grad(set_to_none=True)
        parts = self.loss(self.fuse(ir, vis), ir, vis)
        parts.total.backward()
        optimizer.step()
        return parts.as_floats()


class AdversarialObjective(ContentObjective):
    """GAN: fusion network (generator) + patch discriminator, one Adam each."""

    def __init__(self, name: str, patch_size: int, device: torch.device):
        super().__init__(name, patch_size, device)
        disc = create_model("gan_discriminator", patch_size=patch_size).to(device)
        self.networks["discriminator"] = disc

    def step(self, ir: torch.Tensor, vis: torch.Tensor) -> dict[str, float]:
        """Discriminator step on (target real, detached fused fake), then generator step."""
        fused = self.fuse(ir, vis)
        real = intensity_target(ir, vis)
        disc, opt_d, opt_g = (
            self.networks["discriminator"],
            self.optimizers["discriminator"],
            self.optimizers["fusion"],
        )
        opt_d.zero_grad(set_to_none=True)
        real_scores, fake_scores = disc(torch.cat([real, fused.detach()])).chunk(2)
        d_loss = discriminator_loss(real_scores, fake_scores)
        d_loss.backward()
        opt_d.step()

        opt_g.zero_grad(set_to_none=True)
        parts = self.loss(fused, ir, vis)
        # the unwrapped discriminator: its gradients here are discarded (zeroed before its
        # next step), so they need no all-reduce under DDP
        adversarial = generator_adversarial_loss(unwrap(disc)(fused))
        total = parts.total + ADVERSARIAL_WEIGHT * adversarial
        total.backward()
        opt_g.step()
        return {
            **parts.as_floats(),
            "content": parts.total.item(),
            "adversarial": adversarial.item(),
            "total": total.item(),
            "discriminator": d_loss.item(),
        }


#: model name -> objective class.
OBJECTIVES: dict[str, Callable[..., ContentObjective]] = {
    "cnn": ContentObjective,
    "transformer": ContentObjective,
    "gan": AdversarialObjective,
}


def _save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary name (flushed to disk), then rename onto ``path``; a full
    disk raises :class:`DiskFullError` and leaves no temporary file."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    try:
        write_bytes_atomic(path, buffer.getbuffer())
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            raise DiskFullError(path, buffer.getbuffer().nbytes) from None
        raise


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@dataclass
class Progress:
    """Position of a run: ``epoch`` in progress, ``batch`` batches of it done, ``step`` in all."""

    epoch: int = 0
    batch: int = 0
    step: int = 0


def check_output(outdir: Path, resume: bool) -> None:
    """TrainError when ``outdir`` holds another run and ``resume`` is off, or none to resume.

    A folder whose run wrote no checkpoint (only ``log.jsonl`` and temporary files, e.g. killed
    before its first checkpoint) is no other run: a fresh run starts over in it.
    """
    checkpoint = outdir / CHECKPOINT
    if resume and not checkpoint.is_file():
        hint = " (its run wrote no checkpoint: start again without --resume)"
        restartable = (outdir / LOG_FILE).exists() and not (outdir / MODEL_FILE).exists()
        raise TrainError(
            f"{outdir}: nothing to resume ({CHECKPOINT} not found){hint if restartable else ''}"
        )
    if not resume and outdir.exists():
        taken = [name for name in (CHECKPOINT, MODEL_FILE) if (outdir / name).exists()]
        if taken:
            raise TrainError(
                f"{outdir}: holds another run ({', '.join(taken)}); pass --resume to continue "
                "it or choose another folder"
            )


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def read_resume_state(outdir: Path, config: TrainConfig) -> dict[str, Any]:
    """The checkpoint of ``outdir``; TrainError if unreadable or from a different run."""
    path = outdir / CHECKPOINT
    try:
        state = load_torch_file(path)
    except WeightsError as exc:
        raise TrainError(str(exc)) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainError(f"{path}: not a training checkpoint of format {CHECKPOINT_FORMAT}")
    parts = {"config": dict, "progress": dict, "networks": dict, "optimizers": dict, "rng": dict}
    bad = [key for key, kind in parts.items() if not isinstance(state.get(key), kind)]
    if bad:
        raise TrainError(
            f"{path}: damaged training checkpoint (no valid {', '.join(bad)}); resume from a "
            "copy or start the run again in a new folder"
        )
    saved, wanted = state["config"], asdict(config)
    differ = [key for key in RUN_IDENTITY if saved.get(key) != wanted[key]]
    if differ:
        detail = ", ".join(f"{k}: {saved.get(k)!r} != {wanted[k]!r}" for k in differ)
        raise TrainError(f"{path}: the checkpoint is of another run ({detail})")
    return state


def open_shards(config: TrainConfig, context: DistributedContext) -> DataLoader:
    """The loader of ``config.shards`` for this rank; TrainError naming the folder if it is not
    a patch bank built by ``ivifdata build`` or gives no batch."""
    folder = Path(config.shards)
    if not (folder / INDEX_FILE).is_file():
        raise TrainError(f"{folder}: not a shard folder ({INDEX_FILE} not found)")
    try:
        return make_loader(
            folder,
            config.batch,
            seed=config.pair_seed,
            rank=context.rank,
            world_size=context.world_size,
        )
    except (ValueError, KeyError, OSError) as exc:
        raise TrainError(f"{folder}: cannot read the shards: {exc}") from None


class Trainer:
    """One training run; ``run()`` trains until ``config.epochs`` or ``config.max_steps``."""

    def __init__(
        self,
        config: TrainConfig,
        outdir: str | Path,
        resume: bool = False,
        context: DistributedContext | None = None,
        progress_bar: bool = True,
        stop: StopSignals | None = None,
    ):
        self.context = context or DistributedContext()
        self.stop = stop or StopSignals()  # installed as signal handler by train()
        self.resumed = resume
        self.config = config
        self.outdir = Path(outdir)
        self.progress_bar = progress_bar and self.context.is_writer
        if config.world_size != self.context.world_size:
            raise ValueError("config.world_size must equal the process group's world size")
        self.device = torch.device(
            f"cuda:{self.context.local_rank}" if config.device == "cuda" else "cpu"
        )
        torch.manual_seed(config.seed)
        self.loader = open_shards(config, self.context)
        patch_size = self.loader.dataset.bank.size
        self.objective = OBJECTIVES[config.model](config.model, patch_size, self.device)
        self.progress = Progress()
        self._saved_step: int | None = None
        state = read_resume_state(self.outdir, config) if resume else None
        if state is not None:
            for key, net in self.objective.networks.items():
                net.load_state_dict(state["networks"][key])
        if self.context.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.objective.networks = {
                key: DistributedDataParallel(net, device_ids=ids)
                for key, net in self.objective.networks.items()
            }
        self.objective.build_optimizers(config.lr)
        for optimizer in self.objective.optimizers.values():  # a step is committed from here
            optimizer.register_step_pre_hook(self.stop.commit)
        self._last_save = time.monotonic()
        if state is not None:
            for key, optimizer in self.objective.optimizers.items():
                optimizer.load_state_dict(state["optimizers"][key])
            self.progress = Progress(**state["progress"])
            _set_rng_state(state["rng"])
            if self.context.is_writer:
                self._truncate_log(self.progress.step)

    @property
    def steps_per_epoch(self) -> int:
        return len(self.loader)

    def _done(self) -> bool:
        cap = self.config.max_steps
        return self.progress.epoch >= self.config.epochs or (
            cap is not None and self.progress.step >= cap
        )

    def run(self) -> Progress:
        """Train from the current position; checkpoint each epoch and at the end.

        Raises :class:`TrainInterrupted` (after the checkpoint) when a stop was requested.
        """
        if self.context.is_writer:
            self.outdir.mkdir(parents=True, exist_ok=True)
            self._remove_leftovers()
        for net in self.objective.networks.values():
            net.train()
        stopped = False
        try:
            while not self._done() and not (stopped := self._stop_agreed()):
                stopped = self._run_epoch()
                if stopped:
                    break
        except StepAborted:
            stopped = True  # the aborted step changed nothing: progress is the last step's
        self.stop.abortable = False
        self.save()
        if stopped:
            written = self.outdir / CHECKPOINT if self.context.is_writer else None
            raise TrainInterrupted(self.stop.signum, self.progress, written)
        return self.progress

    def _remove_leftovers(self) -> None:
        """Temporary files of a killed run; on a fresh start also the log of a run that wrote
        no checkpoint (``check_output`` refuses a folder with a checkpoint)."""
        for tmp in self.outdir.glob(f".*{PARTIAL_SUFFIX}"):
            tmp.unlink(missing_ok=True)
        log = self.outdir / LOG_FILE
        if not self.resumed and log.exists():
            _warn(f"{self.outdir}: replacing {LOG_FILE} of a run that wrote no checkpoint")
            log.unlink()

    def _stop_agreed(self) -> bool:
        """Whether any process received a stop signal (one all-reduce under DDP, so that all
        ranks stop after the same step)."""
        wanted = self.stop.requested
        if self.context.world_size == 1:
            return wanted
        flag = torch.tensor([int(wanted)], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """The current epoch's batches from the first one not yet trained on."""
        self.loader.dataset.set_epoch(self.progress.epoch)
        return itertools.islice(iter(self.loader), self.progress.batch, None)

    def _run_epoch(self) -> bool:
        """Train the rest of the current epoch; True when stopped by a signal."""
        progress, config = self.progress, self.config
        totals: dict[str, float] = {}
        count = 0
        bar = tqdm(
            total=self.steps_per_epoch,
            initial=progress.batch,
            desc=f"{config.model} epoch {progress.epoch + 1}/{config.epochs}",
            unit="step",
            disable=not self.progress_bar,
        )
        started = time.perf_counter()
        batches = self._batches()
        stopped = False
        try:
            while not stopped:
                parts = self._abortable_step(batches)
                if parts is None:
                    break
                if not all(math.isfinite(value) for value in parts.values()):
                    raise FloatingPointError(f"non-finite loss at step {progress.step}: {parts}")
                progress.batch += 1
                progress.step += 1
                count += 1
                for key, value in parts.items():
                    totals[key] = totals.get(key, 0.0) + value
                self._log({"kind": "step", "epoch": progress.epoch, "step": progress.step, **parts})
                bar.update()
                bar.set_postfix(total=f"{parts['total']:.4f}")
                if self._checkpoint_due():
                    self.save()
                if config.max_steps is not None and progress.step >= config.max_steps:
                    break
                stopped = self._stop_agreed()
        finally:
            self.stop.abortable = False
            bar.close()
        if progress.batch < self.steps_per_epoch:
            return stopped  # stopped by max_steps or a signal; run() saves the position
        seconds = time.perf_counter() - started
        means = {key: value / max(count, 1) for key, value in totals.items()}
        self._log(
            {
                "kind": "epoch",
                "epoch": progress.epoch,
                "step": progress.step,
                "steps": count,
                "seconds": round(seconds, 3),
                **means,
            }
        )
        progress.epoch += 1
        progress.batch = 0
        self.save()
        return stopped

    def _abortable_step(self, batches: Iterator) -> dict[str, float] | None:
        """One optimisation step on the next batch (None at the epoch's end).

        With one process a stop signal may abort the step until its first optimiser update
        (:mod:`ivifmodels.signals`); the BatchNorm statistics its forward passes already
        updated are then put back, so that the state is exactly that of the previous step.
        """
        single = self.context.world_size == 1
        buffers = [
            (live, live.clone())
            for net in self.objective.networks.values()
            for live in (net.buffers() if single else ())
        ]
        try:
            self.stop.abortable = single
            if single and self.stop.requested:  # signalled just before this step
                raise StepAborted(self.stop.signum)
            batch = next(batches, None)
            if batch is None:
                return None
            ir, vis, _ids = batch
            return self.objective.step(ir.to(self.device), vis.to(self.device))
        except StepAborted:
            with torch.no_grad():
                for live, saved in buffers:
                    live.copy_(saved)
            raise
        finally:
            self.stop.abortable = False

    def _checkpoint_due(self) -> bool:
        """Every ``checkpoint_every`` steps, and when ``checkpoint_seconds`` have passed since
        the last checkpoint (rank 0's clock; only rank 0 writes)."""
        every, seconds = self.config.checkpoint_every, self.config.checkpoint_seconds
        if every and self.progress.step % every == 0:
            return True
        return bool(seconds) and time.monotonic() - self._last_save >= seconds

    def _log(self, record: dict[str, Any]) -> None:
        if self.context.is_writer:
            line = json.dumps(record) + "\n"
            path = self.outdir / LOG_FILE
            try:
                with open(path, "a") as handle:
                    handle.write(line)
            except OSError as exc:
                if exc.errno in DISK_FULL_ERRNOS:  # a cut line is dropped on resume
                    raise DiskFullError(path, len(line)) from None
                raise

    def _truncate_log(self, step: int) -> None:
        """Drop log records past ``step`` (written after the checkpoint that is resumed), and
        an incomplete last line (a crash or full disk while appending), with a warning."""
        path = self.outdir / LOG_FILE
        if not path.exists():
            return
        lines = path.read_text(errors="replace").splitlines()
        kept = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record_step = json.loads(line)["step"]
            except (ValueError, KeyError, TypeError):
                if number == len(lines):
                    _warn(f"{path}: dropped an incomplete last line ({len(line)} characters)")
                    continue
                raise TrainError(
                    f"{path}: line {number} is not a log record; remove it to resume"
                ) from None
            if record_step <= step:
                kept.append(line + "\n")
        write_text_atomic(path, "".join(kept), durable=False)

    def save(self) -> None:
        """Write ``last.pt`` and ``model.pt`` atomically (rank 0 only; once per step)."""
        if not self.context.is_writer or self._saved_step == self.progress.step:
            return
        networks = {key: unwrap(net).state_dict() for key, net in self.objective.networks.items()}
        state = {
            "format": CHECKPOINT_FORMAT,
            "config": asdict(self.config),
            "progress": asdict(self.progress),
            "networks": networks,
            "optimizers": {key: opt.state_dict() for key, opt in self.objective.optimizers.items()},
            "rng": _rng_state(),
        }
        _save_atomic(state, self.outdir / CHECKPOINT)
        released = to_released(self.config.model, networks["fusion"])
        _save_atomic(
            {key: value.cpu() for key, value in released.items()}, self.outdir / MODEL_FILE
        )
        self._saved_step = self.progress.step
        self._last_save = time.monotonic()


def train(
    config: TrainConfig,
    outdir: str | Path,
    resume: bool = False,
    progress_bar: bool = True,
) -> Progress:
    """Train one run in this process, joining the torchrun process group when launched by it."""
    context = distributed_context()
    stop = StopSignals()
    if context.world_size == 1:
        trainer = Trainer(config, outdir, resume, context, progress_bar, stop)
        with stop.installed():
            return trainer.run()
    backend = "nccl" if config.device == "cuda" else "gloo"
    if config.device == "cuda":
        torch.cuda.set_device(context.local_rank)
    dist.init_process_group(backend, rank=context.rank, world_size=context.world_size)
    try:
        trainer = Trainer(config, outdir, resume, context, progress_bar, stop)
        with stop.installed():
            try:
                progress = trainer.run()
            except TrainInterrupted:
                dist.barrier()  # the other ranks exit after rank 0's checkpoint
                raise
            dist.barrier()
        return progress
    finally:
        dist.destroy_process_group()
