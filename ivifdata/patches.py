"""Patch grid, flat-patch filter and the seeded subset draw, staged to disk image by image.

Every unit (one source image, or an aligned IR/VIS pair) carries a grid of ``size x size``
patches at ``(y, x) = (a * stride, b * stride)`` that fit inside the image; candidates are numbered
unit by unit, row-major. The subset is **the first N candidates, in a seeded permutation of all
candidates, that pass the flat-patch filter** (every band's standard deviation, in gray levels
0-255, at least ``min_std``). It is found in rounds: each round takes the next candidates of the
permutation, decodes every image it touches once, and writes the passing patches, PNG-encoded,
to one *stage file* per (round, unit). The result does not depend on round sizes or on the
number of worker processes, and a killed build reuses the stage files it already wrote.

Patches are gray ``uint8`` (0-255), encoded losslessly as 8-bit single-channel PNG.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ivifdata.atomic import write_bytes_atomic
from ivifdata.imageio import read_gray
from ivifdata.permutation import Permutation
from ivifdata.progress import Progress
from ivifdata.sources import SourceImage
from ivifdata.tarshards import note_hash, unchanged

STAGE_MAGIC = b"IVSTAGE1"
#: the smallest pass rate assumed when sizing the next round (bounds the number of rounds).
MIN_PASS_RATE = 0.05


@dataclass(frozen=True)
class PatchGrid:
    """Candidate numbering over ``units``: ``counts[u]`` patches in unit ``u``."""

    units: list[SourceImage]
    size: int
    stride: int

    def _axis(self, length: int) -> int:
        return (length - self.size) // self.stride + 1 if length >= self.size else 0

    @property
    def columns(self) -> np.ndarray:
        return np.array([self._axis(u.width) for u in self.units], dtype=np.int64)

    @property
    def counts(self) -> np.ndarray:
        rows = np.array([self._axis(u.height) for u in self.units], dtype=np.int64)
        return rows * self.columns

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def locate(self, cids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate numbers -> (unit index, y, x) arrays (pixels)."""
        starts = np.concatenate([[0], np.cumsum(self.counts)])
        unit = np.searchsorted(starts, cids, side="right") - 1
        local = cids - starts[unit]
        row, col = np.divmod(local, self.columns[unit])
        return unit, row * self.stride, col * self.stride


@dataclass(frozen=True)
class StageTask:
    """Crop, filter and encode the candidates ``cids`` at ``(ys, xs)`` of one unit."""

    path: Path
    unit: SourceImage
    cids: np.ndarray
    ys: np.ndarray
    xs: np.ndarray
    size: int
    min_std: float
    gray: str
    png_level: int


@dataclass(frozen=True)
class StageResult:
    """Which candidates of a task passed, and the byte lengths of their PNGs (one per band)."""

    path: Path
    cids: np.ndarray
    passed: np.ndarray
    lengths: np.ndarray  # (passed count, bands) int64
    data_start: int  # file offset of the first PNG


def encode_png(patch: np.ndarray, level: int) -> bytes:
    """Lossless 8-bit PNG of a (H, W) uint8 patch at zlib ``level`` 0-9."""
    ok, buf = cv2.imencode(".png", patch, [cv2.IMWRITE_PNG_COMPRESSION, level])
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def _read_stage_header(path: Path) -> tuple[dict, int]:
    with open(path, "rb") as handle:
        head = handle.read(16)
        if len(head) != 16 or head[:8] != STAGE_MAGIC:
            raise ValueError(f"{path}: not a stage file")
        (length,) = struct.unpack("<Q", head[8:])
        return json.loads(handle.read(length)), 16 + length


def _result(path: Path, header: dict, data_start: int) -> StageResult:
    return StageResult(
        path=path,
        cids=np.asarray(header["cids"], dtype=np.int64),
        passed=np.asarray(header["passed"], dtype=bool),
        lengths=np.asarray(header["lengths"], dtype=np.int64).reshape(-1, header["bands"]),
        data_start=data_start,
    )


def run_stage_task(task: StageTask) -> StageResult:
    """Do ``task``, or reuse its stage file from an earlier, killed run when the file still has
    the sha256 noted when it was written (an edited or damaged one is written again)."""
    if unchanged(task.path, task.path.parent) is not None:
        header, start = _read_stage_header(task.path)
        return _result(task.path, header, start)
    images = [read_gray(p, task.gray) for p in task.unit.paths]
    for image, path in zip(images, task.unit.paths, strict=True):
        if image.shape != (task.unit.height, task.unit.width):
            raise ValueError(
                f"{path}: decoded size {image.shape[1]}x{image.shape[0]} differs from the "
                f"catalog ({task.unit.width}x{task.unit.height}); the file changed during the build"
            )
    passed: list[bool] = []
    lengths: list[list[int]] = []
    blobs: list[bytes] = []
    s = task.size
    for y, x in zip(task.ys.tolist(), task.xs.tolist(), strict=True):
        crops = [image[y : y + s, x : x + s] for image in images]
        ok = task.min_std <= 0 or all(float(c.std()) >= task.min_std for c in crops)
        passed.append(ok)
        if ok:
            pngs = [encode_png(c, task.png_level) for c in crops]
            lengths.append([len(p) for p in pngs])
            blobs.extend(pngs)
    header = {
        "bands": len(images),
        "cids": task.cids.tolist(),
        "passed": passed,
        "lengths": lengths,
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    data = STAGE_MAGIC + struct.pack("<Q", len(head)) + head + b"".join(blobs)
    write_bytes_atomic(task.path, data)
    note_hash(task.path, hashlib.sha256(data).hexdigest(), task.path.parent)
    return _result(task.path, header, 16 + len(head))


@dataclass(frozen=True)
class Selection:
    """The accepted patches of one source set, in bank order (ascending candidate number).

    ``stage[k]`` is the stage file holding patch ``k``, its band PNGs start at ``offsets[k]``
    with lengths ``lengths[k]``; ``unit``, ``ys``, ``xs`` say where it was cut and ``rank`` is
    its position in the seeded permutation of candidates.
    """

    grid: PatchGrid
    cids: np.ndarray
    rank: np.ndarray
    stage_files: list[Path]
    stage: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    unit: np.ndarray
    ys: np.ndarray
    xs: np.ndarray

    def __len__(self) -> int:
        return len(self.cids)

    def truncate(self, n: int) -> Selection:
        """The first ``n`` patches in permutation order, still in bank order."""
        keep = np.sort(np.argsort(self.rank, kind="stable")[:n])
        return Selection(
            grid=self.grid,
            stage_files=self.stage_files,
            **{
                name: getattr(self, name)[keep]
                for name in ("cids", "rank", "stage", "offsets", "lengths", "unit", "ys", "xs")
            },
        )

    def read(self, k: int, handles: dict[int, object]) -> list[bytes]:
        """The PNG bytes of patch ``k``, one per band; ``handles`` caches open stage files."""
        sid = int(self.stage[k])
        if sid not in handles:
            handles[sid] = open(self.stage_files[sid], "rb")
        handle = handles[sid]
        handle.seek(int(self.offsets[k]))
        return [handle.read(int(n)) for n in self.lengths[k]]


def _tasks(
    grid: PatchGrid, cids: np.ndarray, stage_dir: Path, tag: str, settings: dict
) -> list[StageTask]:
    order = np.sort(cids)
    unit, ys, xs = grid.locate(order)
    bounds = np.flatnonzero(np.diff(unit)) + 1
    tasks = []
    for part in np.split(np.arange(len(order)), bounds):
        if part.size == 0:
            continue
        u = int(unit[part[0]])
        tasks.append(
            StageTask(
                path=stage_dir / f"{tag}-u{u:07d}.stage",
                unit=grid.units[u],
                cids=order[part],
                ys=ys[part],
                xs=xs[part],
                **settings,
            )
        )
    return tasks


def _run(
    tasks: list[StageTask], workers: int, progress: Progress | None, planned: int
) -> Iterator[StageResult]:
    """The results of ``tasks`` in order; ``planned`` = tasks of all rounds so far (the bar's
    total)."""
    if workers <= 1 or len(tasks) <= 1:
        results = map(run_stage_task, tasks)
        pool = None
    else:
        pool = multiprocessing.get_context("fork").Pool(workers)
        results = pool.imap(run_stage_task, tasks, chunksize=max(1, len(tasks) // (8 * workers)))
    try:
        for result in results:
            if progress:
                progress("patches", 1, planned)
            yield result
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def select_patches(
    grid: PatchGrid,
    n: int | None,
    key: tuple[int, ...],
    stage_dir: Path,
    tag: str,
    settings: dict,
    workers: int = 1,
    progress: Progress | None = None,
) -> tuple[Selection, int]:
    """Draw ``n`` patches (``None``: all that pass) from ``grid``; return them and the number of
    candidates examined. ``key`` seeds the permutation; ``settings`` holds ``size``,
    ``min_std``, ``gray``, ``png_level`` (see :class:`StageTask`)."""
    total = grid.total
    perm = Permutation(total, key)
    position = 0
    passed_positions: list[np.ndarray] = []
    results: list[StageResult] = []
    accepted = 0
    examined = 0
    round_index = 0
    planned = 0
    while position < total and (n is None or accepted < n):
        need = total - position if n is None else n - accepted
        rate = max(MIN_PASS_RATE, accepted / examined) if examined else 1.0
        take = min(total - position, need if round_index == 0 else math.ceil(need / rate * 1.1))
        positions = np.arange(position, position + take, dtype=np.int64)
        cids = perm(positions)
        by_cid = np.argsort(cids)
        tasks = _tasks(grid, cids, stage_dir, f"{tag}-r{round_index:03d}", settings)
        round_passed = []
        planned += len(tasks)
        for result in _run(tasks, workers, progress, planned):
            results.append(result)
            good = result.cids[result.passed]
            round_passed.append(positions[by_cid[np.searchsorted(cids[by_cid], good)]])
        found = np.sort(np.concatenate(round_passed)) if round_passed else np.empty(0, np.int64)
        if n is not None:
            found = found[:need]
        passed_positions.append(found)
        accepted += len(found)
        examined += take
        position += take
        round_index += 1
    ranks = np.concatenate(passed_positions) if passed_positions else np.empty(0, np.int64)
    return _collect(grid, ranks, perm(ranks), results), examined


def _collect(
    grid: PatchGrid, ranks: np.ndarray, cids: np.ndarray, results: list[StageResult]
) -> Selection:
    """Locate every kept candidate (permutation ``ranks``, candidate numbers ``cids``) in the
    stage files; order them by candidate number."""
    by_cid = np.argsort(cids)
    keep, ranks = cids[by_cid], ranks[by_cid]
    cid_parts, stage_parts, offset_parts, length_parts = [], [], [], []
    for sid, result in enumerate(results):
        good = result.cids[result.passed]
        if good.size == 0:
            continue
        sizes = result.lengths.sum(axis=1)
        offsets = result.data_start + np.concatenate([[0], np.cumsum(sizes)[:-1]])
        cid_parts.append(good)
        stage_parts.append(np.full(good.size, sid, dtype=np.int64))
        offset_parts.append(offsets)
        length_parts.append(result.lengths)
    if keep.size == 0:
        empty = np.empty(0, np.int64)
        bands = len(grid.units[0].bands)
        return Selection(grid, empty, empty, [], empty, empty, np.empty((0, bands)), *[empty] * 3)
    all_cids = np.concatenate(cid_parts)
    order = np.argsort(all_cids)
    pick = order[np.searchsorted(all_cids[order], keep)]
    unit, ys, xs = grid.locate(keep)
    return Selection(
        grid=grid,
        cids=keep,
        rank=ranks,
        stage_files=[r.path for r in results],
        stage=np.concatenate(stage_parts)[pick],
        offsets=np.concatenate(offset_parts)[pick],
        lengths=np.concatenate(length_parts)[pick],
        unit=unit,
        ys=ys,
        xs=xs,
    )
