"""``ivifmodels profile``: the efficiency row of a baseline (parameters, FLOPs, time, memory).

What is measured is one full-image fusion as ``ivifmodels fuse`` runs it
(:func:`~ivifmodels.fuse.fuse_gray`: published tiling, batched tiles through the network
prepared for inference, Gaussian blending, final filter) on a seeded random IR/VIS pair of the
requested size, values in [0, 1]; decoding and writing files are not included. The network is
freshly initialised: parameters, FLOPs, time and memory depend on the architecture, not on the
weights.

- **Parameters**: trainable parameters of the network (buffers such as BatchNorm statistics and
  the Transformer's band masks are not counted).
- **FLOPs**: ``torch.utils.flop_counter.FlopCounterMode`` over one fusion: convolutions and
  matrix products, 2 FLOPs per multiply-add; element-wise operations, normalisations and the
  NumPy blending are not counted (so it is the network's cost; repeated tiles run once).
- **Time**: seconds per image, median over ``repeats`` fusions after ``warmup`` untimed ones;
  ``time.perf_counter`` on the CPU, CUDA events (after a synchronize) on a GPU.
- **Peak memory**: measured on the model's first fusion in the process (before the FLOP count
  and the timing). On CUDA ``torch.cuda.max_memory_allocated`` during the fusion minus the
  memory allocated before it; on the CPU the rise of the process's peak resident set size
  (Linux ``VmHWM`` after resetting it through ``/proc/self/clear_refs``) over the resident size
  before the fusion, None where that interface is missing. The CPU figure counts only memory
  the process had to acquire: after another model in the same process it is a lower bound
  (the allocator reuses freed memory), so profile one model per process to compare them.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from .fuse import DEFAULT_BATCH, check_tiling, fuse_gray
from .registry import create_model

#: Models that ``profile`` knows (the released baselines).
PROFILED_MODELS = ("cnn", "transformer", "gan")
#: Output formats of :func:`render_profiles`.
PROFILE_FORMATS = ("csv", "md", "latex")
#: Seed of the random input pair.
INPUT_SEED = 0
MIB = 2**20


@dataclass(frozen=True)
class Profile:
    """One efficiency row. ``seconds``: median per image; ``peak_memory``: bytes or None."""

    model: str
    width: int
    height: int
    device: str
    tile: int
    stride: int
    batch: int
    threads: int
    parameters: int
    flops: int
    seconds: float
    repeats: int
    peak_memory: int | None


def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> (640, 480) (width, height); ValueError for anything else."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"size must be WIDTHxHEIGHT in pixels (e.g. 640x480), got {text!r}")
    width, height = (int(p) for p in parts)
    if width < 1 or height < 1:
        raise ValueError(f"size must be at least 1x1 pixels, got {text!r}")
    return width, height


def random_pair(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded IR and VIS arrays (height, width), float64 in [0, 1)."""
    rng = np.random.default_rng(INPUT_SEED)
    return rng.random((height, width)), rng.random((height, width))


def count_parameters(model: torch.nn.Module) -> int:
    """Trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(fusion: Callable[[], object]) -> int:
    """FLOPs that ``FlopCounterMode`` counts while ``fusion()`` runs."""
    with FlopCounterMode(display=False) as counter:
        fusion()
    return int(counter.get_total_flops())


def time_fusion(fusion: Callable[[], object], device: str, warmup: int, repeats: int) -> float:
    """Median seconds of ``repeats`` calls of ``fusion`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fusion()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fusion()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1000.0)
        else:
            begin = time.perf_counter()
            fusion()
            times.append(time.perf_counter() - begin)
    return statistics.median(times)


def _status_kib(field: str) -> int:
    """A ``kB`` field of /proc/self/status (e.g. VmRSS), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def peak_memory(fusion: Callable[[], object], device: str) -> int | None:
    """Bytes of memory one ``fusion()`` needs at its peak (see the module docstring)."""
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fusion()
        torch.cuda.synchronize()
        return int(torch.cuda.max_memory_allocated() - before)
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        before = _status_kib("VmRSS")
        fusion()
        return max(0, _status_kib("VmHWM") - before) * 1024
    except OSError:
        return None


def profile_model(
    name: str,
    width: int,
    height: int,
    *,
    device: str = "cpu",
    tile: int = 128,
    stride: int = 64,
    batch: int | None = None,
    warmup: int = 2,
    repeats: int = 10,
) -> Profile:
    """Measure one baseline on a ``width`` x ``height`` fusion (see the module docstring)."""
    if name not in PROFILED_MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(PROFILED_MODELS)}")
    check_tiling(tile, stride)
    torch.manual_seed(INPUT_SEED)
    model = create_model(name).eval().to(device)
    batch = batch or DEFAULT_BATCH.get(device, 2)
    ir, vis = random_pair(width, height)

    def fusion() -> np.ndarray:
        return fuse_gray(model, ir, vis, tile=tile, stride=stride, batch=batch, device=device)

    memory = peak_memory(fusion, device)
    flops = count_flops(fusion)
    seconds = time_fusion(fusion, device, warmup, repeats)
    return Profile(
        model=name,
        width=width,
        height=height,
        device=device,
        tile=tile,
        stride=stride,
        batch=batch,
        threads=torch.get_num_threads(),
        parameters=count_parameters(model),
        flops=flops,
        seconds=seconds,
        repeats=repeats,
        peak_memory=memory,
    )


#: Display names of the models in the tables.
DISPLAY_NAMES = {"cnn": "CNN", "transformer": "Transformer", "gan": "GAN"}


def _cells(p: Profile) -> list[str]:
    """Rounded cells of the md / LaTeX row: model, size, device, params, GFLOPs, ms, MiB."""
    memory = "" if p.peak_memory is None else f"{p.peak_memory / MIB:.1f}"
    return [
        DISPLAY_NAMES[p.model],
        f"{p.width}x{p.height}",
        p.device,
        f"{p.parameters:,}",
        f"{p.flops / 1e9:.2f}",
        f"{p.seconds * 1e3:.1f}",
        memory,
    ]


HEADER = ["Model", "Size", "Device", "Params", "FLOPs (G)", "Time (ms)", "Peak mem. (MiB)"]
CSV_COLUMNS = [
    "model",
    "width",
    "height",
    "device",
    "tile",
    "stride",
    "batch",
    "threads",
    "parameters",
    "flops",
    "time_ms",
    "repeats",
    "peak_memory_mib",
]


def render_profiles(profiles: Sequence[Profile], fmt: str) -> str:
    """The rows as ``csv`` (full precision, one header), ``md`` (pipe table) or ``latex``
    (booktabs ``tabular``, needs ``\\usepackage{booktabs}``)."""
    if fmt == "csv":
        lines = [",".join(CSV_COLUMNS)]
        for p in profiles:
            memory = "" if p.peak_memory is None else repr(p.peak_memory / MIB)
            values = [p.model, p.width, p.height, p.device, p.tile, p.stride, p.batch, p.threads]
            values += [p.parameters, p.flops, repr(p.seconds * 1e3), p.repeats, memory]
            lines.append(",".join(str(v) for v in values))
        return "\n".join(lines) + "\n"
    if fmt == "md":
        lines = ["| " + " | ".join(HEADER) + " |", "|:---|:---|:---|" + "---:|" * 4]
        lines += ["| " + " | ".join(_cells(p)) + " |" for p in profiles]
        return "\n".join(lines) + "\n"
    if fmt == "latex":
        lines = [
            r"\begin{tabular}{lllrrrr}",
            r"\toprule",
            " & ".join(HEADER) + r" \\",
            r"\midrule",
        ]
        lines += [" & ".join(_cells(p)) + r" \\" for p in profiles]
        lines += [r"\bottomrule", r"\end{tabular}"]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(PROFILE_FORMATS)}")
