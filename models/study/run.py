"""Run a study into OUTDIR, resumably: build -> train -> fuse -> eval -> report.

Layout of OUTDIR (``docs/study.md``): ``study.json`` (every stage and cell, written atomically),
``builds/<recipe digest[:16]>/`` (one ``ivifdata build`` per distinct recipe), ``test/<dataset>/
{ir,vi}/`` (byte copies of the test pairs, named by pair id), ``runs/<variant>/<model>/s<seed>/``
(``ivifmodels train`` output: ``last.pt``, ``model.pt``, ``log.jsonl``), ``fused/<dataset>/
<method>/`` and ``per_image.csv`` (``ivifbench eval``, values cached in ``cache.sqlite``) and
``report/``.

Killed at any point, the same command continues: a stage or cell whose recorded digest matches
is skipped, a build resumes from its stage files, a cell resumes from ``last.pt`` (exactly: the
Trainer restores weights, optimisers, RNG and position), and fuse/eval/report are recomputed
when their inputs changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ivifdata.atomic import atomic_path, write_json_atomic
from ivifdata.pair_sampler import EpochSampler
from ivifdata.tarshards import sha256_file

from .plan import StudyPlan
from .spec import Cell, Study, StudyError, Variant, _flatten

STATE_FILE = "study.json"
STATE_FORMAT = "ivif-study-1"
LOCK_FILE = ".lock"
CACHE_FILE = "cache.sqlite"
PER_IMAGE = "per_image.csv"
STAGES = ("build", "train", "fuse", "eval", "report")


def digest(obj: Any) -> str:
    """sha256 of the canonical JSON of ``obj``."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def build_dir(outdir: Path, variant: Variant) -> Path:
    return outdir / "builds" / variant.digest[:16]


def run_dir(outdir: Path, cell: Cell) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "._-=[]," else "_" for ch in cell.variant.label)
    return outdir / "runs" / safe / cell.model / f"s{cell.seed}"


def cell_inputs(study: Study, cell: Cell) -> dict[str, Any]:
    """What determines a cell's weights: its recipe, schedule, model and seed (flat keys)."""
    inputs = {f"recipe.{k}": v for k, v in _flatten(cell.variant.recipe.data).items()}
    for key in ("steps", "batch", "lr"):
        inputs[f"train.{key}"] = study.get(f"train.{key}")
    inputs["model"], inputs["seed"] = cell.model, cell.seed
    return inputs


def _study_key(label: str, key: str) -> str:
    """A changed cell input as the study key that sets it."""
    if key.startswith("recipe.ir.") or key.startswith("recipe.vis."):
        field = key.split(".", 2)[2]
        return f"data.{field}" if field in ("root", "layout") else f"data.train.{field}"
    if key.startswith("recipe."):
        return f"recipe or paradigms.{label.split('[')[0]}: {key[len('recipe.') :]}"
    return key if key.startswith("train.") else f"{key}s"


def steps_per_epoch(variant: Variant, n: int, batch: int) -> int:
    """Batches per epoch of ``variant`` with ``n`` patches (0: the epoch gives no batch)."""
    pairing = variant.recipe.get("pairing")
    sampler = EpochSampler(
        n=n,
        mode=pairing["mode"],
        pairs_per_epoch=variant.recipe.pairs_per_epoch(n),
        seed=pairing["seed"],
        overask=pairing["overask"],
    )
    return sampler.epoch_length // batch


class Display:
    """One progress display: a tqdm bar over all work units on a terminal, else a few lines."""

    def __init__(self, total: int, enabled: bool | None = None):
        self.tty = sys.stderr.isatty() if enabled is None else enabled
        self.bar = tqdm(total=total, unit="unit", disable=not self.tty, dynamic_ncols=True)

    def note(self, text: str) -> None:
        if self.tty:
            self.bar.set_description_str(text)
        else:
            print(text, file=sys.stderr, flush=True)

    def advance(self, units: int = 1, loss: float | None = None) -> None:
        self.bar.update(units)
        if loss is not None and self.tty:
            self.bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)

    def close(self) -> None:
        self.bar.close()


def model_digest(path: Path) -> str:
    """sha256 over the tensors of a saved state dict (key order sorted; file metadata ignored)."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].contiguous().numpy().tobytes())
    return h.hexdigest()


#: CPU torch threads of every training cell and of the fusion, whatever ``--workers`` and however
#: many cells are left on a resume: the thread count changes float summation order, so a fixed
#: count keeps results bit-identical across ``--workers`` and across kills and reruns.
#: Parallelism comes from ``--workers`` (cells side by side), one thread each.
STUDY_THREADS = 1


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` torch CPU threads (restored after)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_cell(
    job: dict[str, Any], threads: int, on_step: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Train (or resume) one cell in this process with ``threads`` torch threads."""

    from ivifmodels.train import CHECKPOINT, MODEL_FILE, TrainConfig, Trainer

    class StudyTrainer(Trainer):
        def _log(self, record: dict[str, Any]) -> None:
            super()._log(record)
            if on_step is not None and record.get("kind") == "step":
                on_step(record)

    outdir = Path(job["outdir"])
    resume = (outdir / CHECKPOINT).is_file()
    if not resume and outdir.exists():
        shutil.rmtree(outdir)  # steps logged before the first checkpoint: start afresh
    with torch_threads(threads):
        started = time.perf_counter()
        trainer = StudyTrainer(TrainConfig(**job["config"]), outdir, resume, progress_bar=False)
        progress = trainer.run()
    return {
        "step": progress.step,
        "resumed": resume,
        "seconds": round(time.perf_counter() - started, 3),
        "model_digest": model_digest(outdir / MODEL_FILE),
    }


def _new_steps(folder: Path, offsets: dict[str, int], key: str) -> int:
    """Step records appended to ``folder/log.jsonl`` since the last call (for the display)."""
    log = folder / "log.jsonl"
    if not log.is_file():
        return 0
    with open(log, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        start = offsets.get(key, size)  # first sight: a resumed log's old steps were counted
        if size < start:  # truncated to the checkpoint on resume
            start = size
        handle.seek(start)
        offsets[key] = size
        return handle.read().count(b'"kind": "step"')


class StudyRunner:
    """Runs the stages of a planned study into ``outdir`` (see the module docstring)."""

    def __init__(
        self,
        plan: StudyPlan,
        outdir: Path,
        *,
        device: str = "cpu",
        workers: int = 1,
        force: bool = False,
        display: bool | None = None,
    ):
        self.plan, self.study, self.outdir = plan, plan.study, Path(outdir)
        self.device, self.workers, self.force = device, workers, force
        self.display_enabled = display
        self.state: dict[str, Any] = {}
        #: torch threads of in-process work (fusion), see :data:`STUDY_THREADS`
        self.threads = STUDY_THREADS

    # -- state -------------------------------------------------------------------------------
    def _load_state(self) -> dict[str, Any]:
        path = self.outdir / STATE_FILE
        if not path.is_file():
            return {"format": STATE_FORMAT, "stages": {}, "cells": {}, "fused": {}}
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StudyError([f"{path}: not a readable study record ({exc})"], str(path)) from None
        if state.get("format") != STATE_FORMAT:
            raise StudyError([f"{path}: not a study record of format {STATE_FORMAT}"], str(path))
        return state

    def save(self) -> None:
        write_json_atomic(self.outdir / STATE_FILE, self.state)

    def _stage(self, name: str, key: str, done: bool) -> dict[str, Any] | None:
        """The stage record if it finished with digest ``key`` (and ``done`` holds), else None."""
        record = self.state["stages"].get(name)
        if record and record.get("state") == "done" and record.get("digest") == key and done:
            return record
        return None

    def _finish(self, name: str, key: str, started: float, **extra: Any) -> None:
        """Record stage ``name`` as done (a record of the same inputs keeps its timing)."""
        if self._stage(name, key, True):
            return
        self.state["stages"][name] = {
            "state": "done",
            "digest": key,
            "seconds": round(time.perf_counter() - started, 3),
            **extra,
        }
        self.save()

    def check_changes(self, state: dict[str, Any]) -> list[str]:
        """Problems for cells of this study that were trained (or started) with other inputs."""
        problems = []
        for cell in self.study.cells:
            old = state["cells"].get(cell.id)
            if not old or old.get("state") not in ("training", "done"):
                continue
            new = cell_inputs(self.study, cell)
            changed = sorted(
                k for k in set(old["inputs"]) | set(new) if old["inputs"].get(k) != new.get(k)
            )
            for key in changed:
                problems.append(
                    f"{_study_key(cell.variant.label, key)}: changed from "
                    f"{old['inputs'].get(key)!r} to {new.get(key)!r} since cell {cell.id} was "
                    f"{'trained' if old['state'] == 'done' else 'started'} in {self.outdir}; "
                    "pass --force to retrain it, or use a new OUTDIR"
                )
        return problems

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.outdir.mkdir(parents=True, exist_ok=True)
        with open(self.outdir / LOCK_FILE, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StudyError(
                    [f"{self.outdir}: another study process is running in this folder"],
                    str(self.outdir),
                ) from None
            yield

    # -- run ---------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run every stage that is not done; return the final study record."""
        state = self._load_state() if (self.outdir / STATE_FILE).is_file() else None
        if state is not None:
            problems = self.check_changes(state)
            if problems and not self.force:
                raise StudyError(problems, self.study.source)
        with self._locked():
            self.state = state or self._load_state()
            self.state.update(
                study_file=self.study.source,
                study=self.study.data,
                study_digest=self.study.digest(),
                current_cells=[cell.id for cell in self.study.cells],
                pid=os.getpid(),
            )
            units = self._total_units()
            self.display = Display(units, self.display_enabled)
            try:
                self._build()
                self._train()
                self._fuse()
                self._eval()
                self._report()
            finally:
                self.display.close()
            self.state["pid"] = None
            self.save()
        return self.state

    def _total_units(self) -> int:
        steps = self.study.get("train.steps")
        fused = len(self._methods()) * len(self.plan.tests)
        return len(self.plan.builds) + steps * len(self.study.cells) + fused + 2

    # -- build -------------------------------------------------------------------------------
    def _build(self) -> None:
        from ivifdata.build import build
        from ivifdata.verify import verify

        started = time.perf_counter()
        key = digest(sorted(self.plan.builds))
        outputs = {v.digest: build_dir(self.outdir, v) for v in self.study.variants}
        if self._stage("build", key, all((p / "build.json").is_file() for p in outputs.values())):
            self.display.advance(len(self.plan.builds))
            return
        self.state["stages"]["build"] = {"state": "running", "digest": key}
        self.save()
        builds = {}
        for k, variant in enumerate({v.digest: v for v in self.study.variants}.values(), 1):
            self.display.note(f"build {k}/{len(self.plan.builds)}: {variant.label}")
            outdir = outputs[variant.digest]
            outcome = build(variant.recipe, outdir, workers=self.workers)
            problems, _counts = verify(outdir)
            if problems:
                raise StudyError([f"build {outdir}: {p}" for p in problems], str(outdir))
            builds[variant.digest] = {
                "dir": str(outdir.relative_to(self.outdir)),
                "n": outcome.record["n"],
                "state": outcome.state,
            }
            self.display.advance()
        self._finish("build", key, started, builds=builds)

    # -- train -------------------------------------------------------------------------------
    def _job(self, cell: Cell) -> dict[str, Any]:
        from ivifmodels.train import TrainConfig

        n = self.state["stages"]["build"]["builds"][cell.variant.digest]["n"]
        steps, batch = self.study.get("train.steps"), self.study.get("train.batch")
        per_epoch = steps_per_epoch(cell.variant, n, batch)
        if per_epoch < 1:
            raise StudyError(
                [
                    f"train.batch: {batch} pairs per step, but an epoch of {cell.variant.label} "
                    f"holds fewer pairs"
                ],
                self.study.source,
            )
        config = TrainConfig(
            model=cell.model,
            shards=str(build_dir(self.outdir, cell.variant).resolve()),
            epochs=math.ceil(steps / per_epoch),
            batch=batch,
            lr=float(self.study.get("train.lr")),
            seed=cell.seed,
            pair_seed=cell.seed,
            max_steps=steps,
            checkpoint_every=self.study.get("train.checkpoint_every"),
            device=self.device,
        )
        return {"config": asdict(config), "outdir": str(run_dir(self.outdir, cell))}

    def _train(self) -> None:
        started = time.perf_counter()
        steps = self.study.get("train.steps")
        todo = []
        for cell in self.study.cells:
            record = self.state["cells"].get(cell.id)
            inputs = cell_inputs(self.study, cell)
            out = run_dir(self.outdir, cell)
            if (
                record
                and record.get("inputs") == inputs
                and record.get("state") == "done"
                and (out / "model.pt").is_file()
            ):
                self.display.advance(steps)
                continue
            if record and record.get("inputs") != inputs and out.exists():
                shutil.rmtree(out)  # --force: the old run is of other inputs
            self.state["cells"][cell.id] = {
                "state": "training",
                "inputs": inputs,
                "dir": str(out.relative_to(self.outdir)),
            }
            todo.append(cell)
        self.save()
        workers = 1 if self.device == "cuda" else max(1, min(self.workers, len(todo)))
        threads = STUDY_THREADS
        total = len(self.study.cells)
        if workers == 1:
            for cell in todo:
                k = self.study.cells.index(cell) + 1
                self.display.note(f"train cell {k}/{total}: {cell.id}")
                result = train_cell(self._job(cell), threads, self._on_step)
                self._cell_done(cell, result)
        else:
            self.display.note(f"train {len(todo)} cell(s), {workers} side by side")
            self._train_in_processes(todo, workers, threads)
        self._finish("train", digest(self.state["cells"]), started)

    def _train_in_processes(self, todo: list[Cell], workers: int, threads: int) -> None:
        """Train ``todo`` in up to ``workers`` worker processes (:mod:`.worker`) at a time."""
        folder = self.outdir / "workers"
        folder.mkdir(exist_ok=True)
        pending, running = list(todo), {}
        logged: dict[str, int] = {}  # bytes of each running cell's log already counted
        try:
            while pending or running:
                while pending and len(running) < workers:
                    cell = pending.pop(0)
                    name = run_dir(self.outdir, cell).relative_to(self.outdir / "runs")
                    stem = folder / str(name).replace(os.sep, "_")
                    write_json_atomic(stem.with_suffix(".json"), self._job(cell))
                    command = [sys.executable, "-m", "ivifmodels.study.worker"]
                    with open(stem.with_suffix(".err"), "w") as err:
                        running[cell.id] = (
                            cell,
                            subprocess.Popen(
                                [*command, str(stem.with_suffix(".json")), str(threads)],
                                stdout=subprocess.PIPE,
                                stderr=err,
                                text=True,
                            ),
                            stem,
                        )
                time.sleep(0.2)
                for cell_id, (cell, proc, stem) in list(running.items()):
                    self.display.advance(_new_steps(run_dir(self.outdir, cell), logged, cell_id))
                    if proc.poll() is None:
                        continue
                    out = proc.communicate()[0]
                    del running[cell_id]
                    if proc.returncode != 0:
                        tail = stem.with_suffix(".err").read_text().strip().splitlines()[-1:]
                        raise StudyError(
                            [
                                f"cell {cell.id}: training failed ({'; '.join(tail)}); see "
                                f"{stem.with_suffix('.err')}"
                            ],
                            self.study.source,
                        )
                    self._cell_done(cell, json.loads(out.strip().splitlines()[-1]))
        finally:
            for _cell, proc, _stem in running.values():
                proc.kill()
                proc.wait()

    def _on_step(self, record: dict[str, Any]) -> None:
        self.display.advance(1, record.get("total"))

    def _cell_done(self, cell: Cell, result: dict[str, Any]) -> None:
        self.state["cells"][cell.id].update(state="done", **result)
        self.save()
        if not self.display.tty:
            self.display.note(f"  {cell.id}: step {result['step']} in {result['seconds']} s")

    # -- fuse --------------------------------------------------------------------------------
    def _methods(self) -> dict[str, dict[str, Any]]:
        """Every row of the report: method name -> what produces its fused images."""
        out: dict[str, dict[str, Any]] = {}
        for cell in self.study.cells:
            out[cell.method] = {
                "kind": "trained",
                "cell": cell.id,
                "model": cell.model,
                "paradigm": cell.variant.label,
                "seed": cell.seed,
                "weights": str(run_dir(self.outdir, cell) / "model.pt"),
            }
        for model, path in self.plan.released.items():
            out[f"released.{model}"] = {
                "kind": "released",
                "model": model,
                "paradigm": "released",
                "seed": None,
                "weights": str(path),
            }
        for name, row in self.plan.references.items():
            out[name] = {
                "kind": "folder",
                "model": "reference",
                "paradigm": name,
                "seed": None,
                "folder": str(row.folder),
                "images": digest(sorted(row.sha256.items())),
            }
        return out

    def _test_split(self) -> str:
        """Copy the test pairs into ``test/<dataset>/{ir,vi}/<id><ext>``; return their digest."""
        key = digest([(t.dataset, t.id, t.ir_sha256, t.vis_sha256) for t in self.plan.tests])
        for t in self.plan.tests:
            for band, src in (("ir", t.ir), ("vi", t.vis)):
                dst = self.outdir / "test" / t.dataset / band / f"{t.id}{src.suffix.lower()}"
                if not dst.is_file() or sha256_file(dst) != (
                    t.ir_sha256 if band == "ir" else t.vis_sha256
                ):
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    with atomic_path(dst, durable=False) as tmp:
                        shutil.copyfile(src, tmp)
        return key

    def _fuse_key(self, name: str, spec: dict[str, Any], tests: str) -> str:
        ev = self.study.get("evaluation")
        source = (
            self.state["cells"][spec["cell"]]["model_digest"]
            if spec["kind"] == "trained"
            else spec.get("weights") or spec["images"]
        )
        return digest([name, source, tests, ev["tile"], ev["stride"], ev["gray"]])

    def _fuse(self) -> None:
        started = time.perf_counter()
        tests = self._test_split()
        methods = self._methods()
        keys = {name: self._fuse_key(name, spec, tests) for name, spec in methods.items()}
        for dataset in self.plan.datasets:  # folders of rows no longer in the study
            folder = self.outdir / "fused" / dataset
            if folder.is_dir():
                for stale in folder.iterdir():
                    if stale.name not in methods:
                        shutil.rmtree(stale)
        for k, (name, spec) in enumerate(methods.items(), 1):
            if self.state["fused"].get(name) == keys[name]:
                self.display.advance(len(self.plan.tests))
                continue
            self.display.note(f"fuse {k}/{len(methods)}: {name}")
            self.state["fused"].pop(name, None)
            if spec["kind"] == "folder":
                self._copy_reference(name)
            else:
                self._fuse_method(name, spec["model"], Path(spec["weights"]))
            self.state["fused"][name] = keys[name]
            self.save()
        self._finish("fuse", digest(keys), started)

    def _fuse_method(self, name: str, model_name: str, weights: Path) -> None:
        from ivifmodels.weights import load_released

        model = load_released(model_name, weights, self.device)
        with torch_threads(self.threads):
            self._fuse_tests(name, model)

    def _fuse_tests(self, name: str, model: Any) -> None:
        from ivifdata.imageio import read_image, write_png
        from ivifmodels.fuse import fuse_images

        ev = self.study.get("evaluation")
        for t in self.plan.tests:
            image, _ = fuse_images(
                model,
                read_image(t.ir, to_8bit=True),
                read_image(t.vis, to_8bit=True),
                gray=ev["gray"],
                tile=ev["tile"],
                stride=ev["stride"],
                device=self.device,
            )
            dst = self.outdir / "fused" / t.dataset / name / f"{t.id}.png"
            dst.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(dst, durable=False) as tmp:
                write_png(tmp, image)
            self.display.advance()

    def _copy_reference(self, name: str) -> None:
        for dataset in self.plan.datasets:  # an image of another extension may be there
            shutil.rmtree(self.outdir / "fused" / dataset / name, ignore_errors=True)
        for t in self.plan.tests:
            src = self.plan.references[name].images[(t.dataset, t.id)]
            dst = self.outdir / "fused" / t.dataset / name / f"{t.id}{src.suffix.lower()}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(dst, durable=False) as tmp:
                shutil.copyfile(src, tmp)
            self.display.advance()

    # -- eval --------------------------------------------------------------------------------
    def metrics(self) -> list[str]:
        from ivifbench.computation import resolve_metrics
        from ivifbench.conventions import get_convention

        ev = self.study.get("evaluation")
        return resolve_metrics(get_convention(ev["convention"]), ev["metrics"])

    def _eval(self) -> None:
        from ivifbench import __version__
        from ivifbench.eval import run_eval

        started = time.perf_counter()
        ev = self.study.get("evaluation")
        key = digest([self.state["stages"]["fuse"]["digest"], ev["convention"], self.metrics()])
        table = self.outdir / PER_IMAGE
        if self._stage("eval", key, table.is_file()):
            self.display.advance()
            return
        self.display.note("eval: ivifbench " + ", ".join(self.metrics()))
        table.unlink(missing_ok=True)
        problems = 0
        for dataset in self.plan.datasets:
            summary = run_eval(
                self.outdir / "fused" / dataset,
                self.outdir / "test" / dataset / "ir",
                self.outdir / "test" / dataset / "vi",
                table,
                dataset=dataset,
                convention=ev["convention"],
                metrics=self.metrics(),
                version=__version__,
                workers=self.workers,
                cache_path=self.outdir / CACHE_FILE,
                problems_path=self.outdir / f"per_image.problems.{dataset}.csv",
                progress=False,
            )
            problems += len(summary.failures)
        self.display.advance()
        self._finish("eval", key, started, problems=problems)

    # -- report ------------------------------------------------------------------------------
    def _report(self) -> None:
        from .report import write_study_report

        started = time.perf_counter()
        logs = {c.id: self.state["cells"][c.id]["model_digest"] for c in self.study.cells}
        ev = self.study.get("evaluation")
        key = digest([sha256_file(self.outdir / PER_IMAGE), logs, ev, self.plan.datasets])
        report = self.outdir / "report"
        if self._stage("report", key, (report / "table.md").is_file()):
            self.display.advance()
            return
        self.display.note("report")
        files = write_study_report(self, report)
        self.display.advance()
        self._finish("report", key, started, files=[str(p.relative_to(self.outdir)) for p in files])
