"""``ivifdata build``: recipe -> patch bank shards (+ optional pair shards), index and record.

Steps (see ``docs/building.md``): plan (scan the sources, check every setting against the data;
nothing is written), draw the patches (:mod:`ivifdata.patches`, staged in a hidden work folder),
write the bank shards, optionally the explicit pair shards of every epoch, then the ``wids``
indexes and the build record. Shards and indexes are byte-deterministic; every file is written
atomically, so a killed build leaves no complete-looking partial file, and running the same
command again resumes from the stage files and shards already written.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import ivifdata
from ivifdata.atomic import DISK_FULL_ERRNOS, PARTIAL_SUFFIX, write_json_atomic
from ivifdata.folderlock import FolderLocked, locked
from ivifdata.pair_sampler import EpochSampler
from ivifdata.patches import PatchGrid, Selection, select_patches
from ivifdata.progress import Progress
from ivifdata.recipe import Recipe, RecipeError, pairs_per_epoch_problem
from ivifdata.shardformat import (
    BANK_KEY,
    BANK_SHARD,
    INDEX_FILE,
    LOCK_FILE,
    PAIR_KEY,
    PAIRS_INDEX,
    PAIRS_SHARD,
    PLAN_FILE,
    RECORD_FILE,
    WORK_DIR,
    BankReader,
    read_bank_index,
)
from ivifdata.sources import SourceSet, resolve_sources
from ivifdata.tarshards import (
    Sample,
    index_document,
    note_hash,
    sha256_file,
    unchanged,
    write_shard,
)

#: folder (inside the work folder) of the sha256 notes of the finished shards.
NOTES_DIR = "written"


class BuildError(RuntimeError):
    """The output folder cannot take this build (message says why)."""


class DiskFull(BuildError):
    """The disk filled up during the build (message: folder and space needed)."""


class BuildLocked(BuildError):
    """Another process is building into the folder (``pid``: its process id, or None)."""

    def __init__(self, outdir: Path, pid: int | None):
        self.pid = pid
        who = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(f"{outdir}: another build is running ({who})")


@dataclass(frozen=True)
class Plan:
    """Everything a build needs, checked against the data; nothing written yet."""

    recipe: Recipe
    source_sets: list[SourceSet]
    grids: list[PatchGrid]
    digest: str

    @property
    def joint(self) -> bool:
        return len(self.source_sets) == 1


def _versions() -> dict[str, str]:
    out = {"ivifdata": ivifdata.__version__, "python": platform.python_version()}
    for dist in ("numpy", "opencv-python-headless", "pillow", "pandas", "pyyaml", "webdataset"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    out["zlib"] = zlib.ZLIB_RUNTIME_VERSION
    return out


def plan_build(recipe: Recipe, workers: int = 1) -> Plan:
    """Scan the sources and check every data-dependent setting; raise RecipeError naming keys."""
    sets = resolve_sources(recipe, workers)
    size, stride = recipe.get("patch.size"), recipe.get("patch.stride")
    grids = [PatchGrid(s.units, size, stride) for s in sets]
    n = recipe.get("subset.n")
    problems = [
        f"subset.n: {n} patches asked, but the selected {'+'.join(s.bands)} images hold only "
        f"{grid.total} patches of {size}x{size} at stride {stride} ({len(s.units)} images)"
        for s, grid in zip(sets, grids, strict=True)
        if n != "all" and n > grid.total
    ]
    if problems:
        raise RecipeError(problems, recipe.source)
    if n != "all":
        _check_pairing(recipe, n)
    units = [[list(u.rel), list(u.sha256)] for s in sets for u in s.units]
    text = json.dumps(
        {"recipe": recipe.data, "units": units, "ivifdata": ivifdata.__version__},
        sort_keys=True,
    )
    return Plan(recipe, sets, grids, hashlib.sha256(text.encode()).hexdigest())


def _check_pairing(recipe: Recipe, n: int) -> EpochSampler:
    problem = pairs_per_epoch_problem(recipe["pairing"], n)
    if problem:
        raise RecipeError([problem], recipe.source)
    try:
        return EpochSampler(
            n=n,
            mode=recipe.get("pairing.mode"),
            pairs_per_epoch=recipe.pairs_per_epoch(n),
            seed=recipe.get("pairing.seed"),
            overask=recipe.get("pairing.overask"),
        )
    except ValueError as exc:
        raise RecipeError([f"pairing.mode: {exc}"], recipe.source) from None


def _prepare_outdir(outdir: Path, digest: str) -> tuple[bool, dict | None]:
    """(resuming?, finished record or None); raise BuildError when OUTDIR holds something else."""
    record_path = outdir / RECORD_FILE
    plan_path = outdir / WORK_DIR / PLAN_FILE
    if record_path.exists():
        try:
            record = json.loads(record_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BuildError(f"{record_path}: unreadable build record ({exc})") from None
        if isinstance(record, dict) and record.get("plan_digest") == digest:
            return False, record
        raise BuildError(f"{outdir}: holds a finished build of another recipe or source data")
    if plan_path.exists():
        if json.loads(plan_path.read_text()).get("plan_digest") == digest:
            _remove_partials(outdir)  # files a kill cut short
            (outdir / WORK_DIR / NOTES_DIR).mkdir(exist_ok=True)
            return True, None
        raise BuildError(
            f"{outdir}: holds an unfinished build of another recipe; remove it or choose "
            "another output folder"
        )
    if any(p.name != LOCK_FILE for p in outdir.iterdir()):
        raise BuildError(f"{outdir}: folder is not empty and holds no ivifdata build")
    try:
        (outdir / WORK_DIR / "stage").mkdir(parents=True, exist_ok=True)
        (outdir / WORK_DIR / NOTES_DIR).mkdir()
        write_json_atomic(plan_path, {"plan_digest": digest})
    except OSError:  # e.g. disk full: leave the folder as it was
        shutil.rmtree(outdir / WORK_DIR, ignore_errors=True)
        raise
    return False, None


def _remove_partials(outdir: Path) -> None:
    """Delete the ``.partial`` files of the output and work folders."""
    for pattern in (f"*{PARTIAL_SUFFIX}", f"{WORK_DIR}/*/*{PARTIAL_SUFFIX}"):
        for leftover in outdir.glob(pattern):
            leftover.unlink(missing_ok=True)


def _select(
    plan: Plan, stage_dir: Path, workers: int, progress: Progress | None
) -> tuple[list[Selection], list[int]]:
    """The patches of every source set (equal counts) and how many candidates each examined."""
    recipe = plan.recipe
    n = recipe.get("subset.n")
    settings = {
        "size": recipe.get("patch.size"),
        "min_std": float(recipe.get("patch.min_std")),
        "gray": recipe["gray"],
        "png_level": recipe.get("shards.png_compression"),
    }
    selections: list[Selection] = []
    examined: list[int] = []
    for code, (source_set, grid) in enumerate(zip(plan.source_sets, plan.grids, strict=True)):
        tag = "+".join(source_set.bands)
        key = (recipe.get("subset.seed"), 0 if plan.joint else code + 1)
        selection, count = select_patches(
            grid,
            None if n == "all" else n,
            key,
            stage_dir,
            tag.replace("+", "-"),
            settings,
            workers,
            progress,
        )
        if n != "all" and len(selection) < n:
            raise RecipeError(
                [
                    f"subset.n: only {len(selection)} of the {grid.total} {tag} patches pass "
                    f"the flat-patch filter patch.min_std={settings['min_std']:g}; "
                    f"{n} were asked"
                ],
                recipe.source,
            )
        selections.append(selection)
        examined.append(count)
    size = min(len(s) for s in selections)
    if size == 0:
        raise RecipeError(
            [f"patch.min_std: no patch passes the filter ({settings['min_std']:g})"],
            recipe.source,
        )
    return [s.truncate(size) if len(s) > size else s for s in selections], examined


def _source_info(source_set: SourceSet, selection: Selection, k: int, b: int) -> dict:
    unit = source_set.units[int(selection.unit[k])]
    return {
        "dataset": unit.dataset,
        "path": unit.rel[b],
        "x": int(selection.xs[k]),
        "y": int(selection.ys[k]),
    }


def _bank_samples(
    plan: Plan, selections: list[Selection], start: int, stop: int
) -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """Bank entries ``start .. stop-1`` as (key, fields) with ir.png, vis.png, json."""
    handles: list[dict[int, Any]] = [{} for _ in selections]
    try:
        for k in range(start, stop):
            if plan.joint:
                ir_png, vis_png = selections[0].read(k, handles[0])
                where = [(0, 0), (0, 1)]
            else:
                ir_png = selections[0].read(k, handles[0])[0]
                vis_png = selections[1].read(k, handles[1])[0]
                where = [(0, 0), (1, 0)]
            meta = {
                "index": k,
                "aligned": plan.joint,
                "size": plan.recipe.get("patch.size"),
                **{
                    band: _source_info(plan.source_sets[s], selections[s], k, b)
                    for band, (s, b) in zip(("ir", "vis"), where, strict=True)
                },
            }
            text = json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()
            yield BANK_KEY.format(k), [("ir.png", ir_png), ("vis.png", vis_png), ("json", text)]
    finally:
        for group in handles:
            for handle in group.values():
                handle.close()


def _shard(
    path: Path, nsamples: int, samples: Callable[[], Iterator[Sample]], notes: Path
) -> dict[str, Any]:
    """The index entry of shard ``path``: reused when a killed run finished it and it still has
    the sha256 noted then, else (missing, unnoted or changed) written from ``samples()``."""
    digest = unchanged(path, notes)
    if digest is not None:
        return {
            "url": path.name,
            "nsamples": nsamples,
            "filesize": path.stat().st_size,
            "sha256": digest,
        }
    entry = write_shard(path, samples())
    note_hash(path, entry["sha256"], notes)
    return entry


def _write_bank(
    plan: Plan, selections: list[Selection], outdir: Path, progress: Progress | None
) -> list[dict]:
    n = len(selections[0])
    per_shard = plan.recipe.get("shards.samples_per_shard")
    starts = range(0, n, per_shard)
    entries = []
    for shard, start in enumerate(starts):
        stop = min(n, start + per_shard)
        path = outdir / BANK_SHARD.format(shard)
        notes = outdir / WORK_DIR / NOTES_DIR
        entries.append(
            _shard(
                path,
                stop - start,
                lambda start=start, stop=stop: _bank_samples(plan, selections, start, stop),
                notes,
            )
        )
        if progress:
            progress("shards", 1, len(starts))
    return entries


def _pair_samples(
    reader: BankReader, sampler: EpochSampler, epoch: int, start: int, stop: int
) -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    ir_idx, vis_idx = sampler.pairs(epoch, start, stop)
    for t, i, j in zip(range(start, stop), ir_idx.tolist(), vis_idx.tolist(), strict=True):
        ir_meta = json.loads(reader.read(i, "json"))["ir"]
        vis_meta = json.loads(reader.read(j, "json"))["vis"]
        meta = {
            "epoch": epoch,
            "position": t,
            "ir": {"index": i, **ir_meta},
            "vis": {"index": j, **vis_meta},
        }
        text = json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()
        fields = [("ir.png", reader.read(i, "ir.png")), ("vis.png", reader.read(j, "vis.png"))]
        yield PAIR_KEY.format(epoch, t), [*fields, ("json", text)]


def _write_pairs(
    plan: Plan, sampler: EpochSampler, outdir: Path, progress: Progress | None
) -> list[str]:
    reader = BankReader(read_bank_index(outdir))
    per_shard = plan.recipe.get("shards.pairs_per_shard")
    epochs = plan.recipe.get("pairing.epochs")
    starts = range(0, sampler.epoch_length, per_shard)
    notes = outdir / WORK_DIR / NOTES_DIR
    written = []
    try:
        for epoch in range(epochs):
            index_path = outdir / PAIRS_INDEX.format(epoch)
            entries = []
            for shard, start in enumerate(starts):
                stop = min(sampler.epoch_length, start + per_shard)
                path = outdir / PAIRS_SHARD.format(epoch, shard)
                entries.append(
                    _shard(
                        path,
                        stop - start,
                        lambda e=epoch, a=start, b=stop: _pair_samples(reader, sampler, e, a, b),
                        notes,
                    )
                )
                if progress:
                    progress("pairs", 1, epochs * len(starts))
            info = {"kind": "pairs", "epoch": epoch, "bank_index": INDEX_FILE}
            name = f"{plan.recipe['name']}-pairs-e{epoch:04d}"
            write_json_atomic(index_path, index_document(name, entries, info))
            written.append(index_path.name)
    finally:
        reader.close()
    return written


def _bank_info(plan: Plan, sampler: EpochSampler) -> dict[str, Any]:
    recipe = plan.recipe
    return {
        "kind": "patch-bank",
        "n": sampler.n,
        "patch_size": recipe.get("patch.size"),
        "aligned": plan.joint,
        "fields": ["ir.png", "vis.png", "json"],
        "key_format": "p%07d",
        "pairing": {
            "mode": sampler.mode,
            "set_size": sampler.set_size,
            "pairs_per_epoch": sampler.pairs_per_epoch,
            "epoch_length": sampler.epoch_length,
            "overask": sampler.overask,
            "epochs": recipe.get("pairing.epochs"),
            "seed": sampler.seed,
        },
    }


@dataclass(frozen=True)
class BuildOutcome:
    """What :func:`build` did (``built``, ``resumed`` or ``up to date``) and the build record."""

    state: str
    record: dict[str, Any]


def build(
    recipe: Recipe, outdir: str | Path, workers: int = 1, progress: Progress | None = None
) -> BuildOutcome:
    """Build ``recipe`` into ``outdir``, resume an interrupted build there, or confirm that it
    is complete. ``progress(phase, count, total)`` is called after each staged image, bank
    shard and pair shard. Holds a lock on ``outdir`` throughout: BuildLocked when another build
    holds it. A full disk ends in a BuildError naming the space needed, with no temp file left.
    """
    outdir = Path(outdir)
    clock = time.perf_counter()
    plan = plan_build(recipe, workers)
    plan_s = time.perf_counter() - clock
    created = not outdir.exists()
    outdir.mkdir(parents=True, exist_ok=True)
    try:
        with locked(outdir / LOCK_FILE):
            return _build_locked(plan, outdir, workers, progress, plan_s)
    except FolderLocked as exc:
        raise BuildLocked(outdir, exc.pid) from None
    except OSError as exc:
        if exc.errno not in DISK_FULL_ERRNOS:
            raise
        _remove_partials(outdir)
        raise DiskFull(_disk_full_message(plan, outdir)) from None
    finally:
        if created and outdir.is_dir() and not any(outdir.iterdir()):
            outdir.rmdir()  # a refused recipe leaves no empty folder behind


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _disk_full_message(plan: Plan, outdir: Path) -> str:
    """One line: the folder, the space a complete build needs at most beyond what it holds
    now, and the space free (MB = 10^6 bytes)."""
    recipe = plan.recipe
    size = recipe.get("patch.size")
    n = recipe.get("subset.n")
    if n == "all":
        n = min(g.total for g in plan.grids)
    # per sample: 3 tar headers, json, 2 PNGs of at most the raw pixels plus zlib/PNG overhead
    sample = 2 * (size * size + 8 * size + 1024) + 4 * 512
    total = 2 * n * sample  # stage files and bank shards
    if recipe.get("shards.materialize"):
        total += recipe.get("pairing.epochs") * recipe.pairs_per_epoch(n) * sample
    more = max(0, total - _folder_bytes(outdir))
    free = shutil.disk_usage(outdir).free
    return (
        f"{outdir}: disk full; this build needs up to {more / 1e6:,.0f} MB more free space "
        f"there ({free / 1e6:,.0f} MB free now); temp files removed, finished work kept: free "
        "space and run the same command to resume"
    )


def _build_locked(
    plan: Plan, outdir: Path, workers: int, progress: Progress | None, plan_s: float
) -> BuildOutcome:
    recipe = plan.recipe
    timings: dict[str, float] = {"plan_s": plan_s}
    resumed, record = _prepare_outdir(outdir, plan.digest)
    if record is not None:
        return BuildOutcome("up to date", record)
    work = outdir / WORK_DIR
    clock = time.perf_counter()
    try:
        selections, examined = _select(plan, work / "stage", workers, progress)
        n = len(selections[0])
        sampler = _check_pairing(recipe, n)  # N known only now with subset.n: all
    except RecipeError:
        shutil.rmtree(work, ignore_errors=True)
        raise
    timings["patches_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    entries = _write_bank(plan, selections, outdir, progress)
    index = index_document(f"{recipe['name']}-patches", entries, _bank_info(plan, sampler))
    write_json_atomic(outdir / INDEX_FILE, index)
    timings["bank_s"] = time.perf_counter() - clock
    outputs = [INDEX_FILE]
    if recipe.get("shards.materialize"):
        clock = time.perf_counter()
        outputs += _write_pairs(plan, sampler, outdir, progress)
        timings["pairs_s"] = time.perf_counter() - clock
    record = {
        "plan_digest": plan.digest,
        "recipe": recipe.data,
        "recipe_file": recipe.source,
        "recipe_sha256": recipe.digest(),
        "versions": _versions(),
        "command": sys.argv,
        "resumed": resumed,
        "n": n,
        "sources": [
            {
                "bands": list(s.bands),
                "root": str(s.root),
                "images": [
                    {"path": list(u.rel), "sha256": list(u.sha256), "dataset": u.dataset}
                    for u in s.units
                ],
                "skipped": [{"path": k.rel, "reason": k.reason} for k in s.skipped],
                "candidates": g.total,
                "examined": e,
            }
            for s, g, e in zip(plan.source_sets, plan.grids, examined, strict=True)
        ],
        "outputs": {name: sha256_file(outdir / name) for name in outputs},
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    write_json_atomic(outdir / RECORD_FILE, record)
    shutil.rmtree(work, ignore_errors=True)
    return BuildOutcome("resumed" if resumed else "built", record)
