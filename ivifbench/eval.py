"""``ivifbench eval``: per-image metric table of every method folder of a results directory.

The table has one row per (dataset, method, image): the identifying columns, one column per
metric (values exactly as :func:`ivifbench.compute` returns them, written with 17 significant
digits), the convention, the tool version, the test split ('' for none) and the three files
(relative to the table's folder).
Values are reused from a :class:`~ivifbench.cache.ValueCache` keyed by content hashes; only
what is missing is computed, in worker processes.

Runs that write one table (and problems report) at the same time do not lose each other's
rows: the read-merge-replace of each file happens under an exclusive lock on the hidden file
``.<name>.lock`` next to it (:func:`locked`), and the table is read again under the lock.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock
from tqdm import tqdm

from ivifbench.allocator import keep_freed_memory
from ivifbench.cache import ValueCache, result_key
from ivifbench.computation import compute, degenerate_message
from ivifbench.errors import DegenerateMetricWarning, MetricInputError
from ivifbench.inputs import load_triple
from ivifbench.matching import INFORMATIONAL_KINDS, Plan, Problem, Triple, plan_evaluation
from ivifbench.metrics.kernels import shared_sources
from ivifbench.splits import Split
from ivifdata.atomic import atomic_path
from ivifdata.imageio import ImageReadError, read_image

#: Leading columns of the per-image table.
ID_COLUMNS = ("dataset", "method", "image")
#: Trailing columns of the per-image table (after the metric columns).
META_COLUMNS = ("convention", "version", "split", "fused_file", "ir_file", "vis_file")
#: Cache commits happen after this many jobs (and at the end), so an interrupted run keeps
#: most of its work without paying a commit per image.
COMMIT_EVERY = 32
#: Triples per torch batch with ``--device`` (``--batch-size``).
DEFAULT_BATCH_SIZE = 16
#: Columns of the problems report.
PROBLEM_COLUMNS = ("dataset", "method", "image", "file", "kind", "detail")


class TableMismatchError(ValueError):
    """An existing output table cannot take the new rows (other convention or metric set)."""


@dataclass(frozen=True)
class Task:
    """Metrics still to compute for one triple (``index`` is its position in the plan)."""

    index: int
    triple: Triple
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class Job:
    """The tasks of one source pair: a worker decodes the IR and VIS images once for all the
    methods' fused images (decoding costs about as much as the metrics)."""

    tasks: tuple[Task, ...]


@dataclass(frozen=True)
class Outcome:
    """What a worker returns for a :class:`Task`: values, or a problem; plus metric warnings."""

    index: int
    values: dict[str, float] | None
    problem: Problem | None = None
    warnings: tuple[str, ...] = ()


@dataclass
class EvalSummary:
    """Counts and problems of one eval run (printed by the CLI)."""

    dataset: str
    methods: tuple[str, ...]
    pairs: int
    evaluated: int
    from_cache: int
    computed: int
    kept_rows: int
    rows: int
    seconds: float
    problems: list[Problem] = field(default_factory=list)
    split: str = ""
    outside_split: int = 0

    @property
    def failures(self) -> list[Problem]:
        """Problems that count for ``--strict`` (all but informational ones)."""
        return [p for p in self.problems if p.kind not in INFORMATIONAL_KINDS]


def size_mismatch(fused: np.ndarray, ir: np.ndarray, vis: np.ndarray) -> str | None:
    """'sizes differ (W x H): fused 80x64, IR 96x72, VIS 96x72', or None when they agree."""
    sizes = [a.shape[:2] for a in (fused, ir, vis)]
    if len(set(sizes)) == 1:
        return None
    described = ", ".join(
        f"{name} {w}x{h}" for name, (h, w) in zip(("fused", "IR", "VIS"), sizes, strict=True)
    )
    return f"sizes differ (W x H): {described}"


def _decode_fused(
    task: Task, ir: np.ndarray, vis: np.ndarray, dataset: str
) -> np.ndarray | Outcome:
    """The task's fused image, or the :class:`Outcome` of its problem (unreadable, sizes)."""
    triple = task.triple
    try:
        fused = read_image(triple.fused)
    except ImageReadError as exc:
        return _problem(task, dataset, exc.path, "unreadable", exc.reason)
    mismatch = size_mismatch(fused, ir, vis)
    if mismatch:
        return _problem(task, dataset, triple.fused, "size_mismatch", mismatch)
    return fused


def _problem(task: Task, dataset: str, file: Path | str, kind: str, detail: str) -> Outcome:
    found = Problem(dataset, task.triple.method, task.triple.image, str(file), kind, detail)
    return Outcome(task.index, None, found)


def _messages(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(w.message) for w in caught))


def evaluate_task(
    task: Task, ir: np.ndarray, vis: np.ndarray, dataset: str, convention: str
) -> Outcome:
    """Decode the fused image of ``task`` and compute its metrics against decoded sources.

    Expected input problems (unreadable file, size mismatch, input rejected by the metric core)
    become a :class:`Problem`; anything else is a bug and propagates.
    """
    fused = _decode_fused(task, ir, vis, dataset)
    if isinstance(fused, Outcome):
        return fused
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = compute(fused, ir, vis, metrics=list(task.metrics), convention=convention)
        except MetricInputError as exc:
            return _problem(task, dataset, task.triple.fused, "invalid_input", str(exc))
    return Outcome(task.index, values, None, _messages(caught))


def evaluate_job(job: Job, dataset: str, convention: str) -> list[Outcome]:
    """Decode the job's IR and VIS once, then evaluate each task (runs in a worker process)."""
    sources = _decode_sources(job, dataset)
    if isinstance(sources, list):
        return sources
    with shared_sources():  # source-only metric work once per pair, not once per method
        return [evaluate_task(task, *sources, dataset, convention) for task in job.tasks]


def _decode_sources(job: Job, dataset: str) -> tuple[np.ndarray, np.ndarray] | list[Outcome]:
    """(IR, VIS) of the job's source pair, or an 'unreadable' :class:`Outcome` per task."""
    first = job.tasks[0].triple
    try:
        return read_image(first.ir), read_image(first.vis)
    except ImageReadError as exc:
        return [_problem(t, dataset, exc.path, "unreadable", exc.reason) for t in job.tasks]


# --- --device: the torch backend on batches of one image size ---------------------------------


@dataclass(frozen=True)
class Prepared:
    """A decoded, checked task whose device metrics wait for a batch: its images, the values
    of its metrics that only numpy computes, and the warnings other than NaN/inf values."""

    task: Task
    images: tuple[np.ndarray, np.ndarray, np.ndarray]
    label: str
    values: dict[str, float]
    warnings: tuple[str, ...]


def prepare_job(
    job: Job, dataset: str, convention: str, on_device: frozenset[str]
) -> list[Outcome | Prepared]:
    """Decode and check the job's triples and compute their numpy-only metrics (runs in a
    worker process); the ``on_device`` metrics are left to :func:`evaluate_batch`."""
    sources = _decode_sources(job, dataset)
    if isinstance(sources, list):
        return sources
    prepared: list[Outcome | Prepared] = []
    with shared_sources():
        for task in job.tasks:
            fused = _decode_fused(task, *sources, dataset)
            if isinstance(fused, Outcome):
                prepared.append(fused)
                continue
            rest = [m for m in task.metrics if m not in on_device]
            if len(rest) == len(task.metrics):  # nothing for the device
                prepared.append(evaluate_task(task, *sources, dataset, convention))
                continue
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    label = load_triple(fused, *sources).fused.label  # the checks of compute
                    values = (
                        compute(fused, *sources, metrics=rest, convention=convention)
                        if rest
                        else {}
                    )
                except MetricInputError as exc:
                    problem = _problem(task, dataset, task.triple.fused, "invalid_input", str(exc))
                    prepared.append(problem)
                    continue
            others = [w for w in caught if not issubclass(w.category, DegenerateMetricWarning)]
            item = Prepared(task, (fused, *sources), label, values, _messages(others))
            prepared.append(item)
    return prepared


def _finish(item: Prepared, device_values: dict[str, float], convention: str) -> Outcome:
    """The outcome of a prepared task once its device metrics are known; NaN/inf warnings in
    metric order, worded as :func:`ivifbench.compute` words them."""
    values = {**item.values, **device_values}
    values = {name: values[name] for name in item.task.metrics}
    degenerate = [
        degenerate_message(name, convention, value, item.label)
        for name, value in values.items()
        if not math.isfinite(value)
    ]
    messages = tuple(dict.fromkeys((*item.warnings, *degenerate)))
    return Outcome(item.task.index, values, None, messages)


def evaluate_batch(
    items: Sequence[Prepared], names: Sequence[str], dataset: str, convention: str, device: str
) -> list[Outcome]:
    """The device metrics ``names`` of prepared tasks of one image shape, in one
    :func:`ivifbench.compute_batch` call. If the batch is refused (an input the metric core
    rejects, e.g. too small), each task is evaluated alone with numpy and gets numpy's exact
    problem."""
    from ivifbench.torch_backend import compute_batch

    stacked = [np.stack([item.images[k] for item in items]) for k in range(3)]
    try:
        batch = compute_batch(*stacked, list(names), convention=convention, device=device)
    except MetricInputError:
        return [evaluate_task(item.task, *item.images[1:], dataset, convention) for item in items]
    columns = {name: batch[name].cpu().tolist() for name in names}
    return [
        _finish(item, {name: columns[name][i] for name in names}, convention)
        for i, item in enumerate(items)
    ]


def run_device_jobs(
    jobs: Sequence[Job],
    dataset: str,
    convention: str,
    device: str,
    batch_size: int,
    workers: int,
) -> Iterator[list[Outcome]]:
    """Yield the outcomes of every job: workers decode and compute the numpy-only metrics,
    this process groups the triples by their three image shapes (no padding) and computes
    the device metrics in batches of at most ``batch_size``."""
    from ivifbench.torch_backend import covered

    metrics = dict.fromkeys(m for job in jobs for task in job.tasks for m in task.metrics)
    on_device = frozenset(covered(convention, list(metrics))) if metrics else frozenset()
    worker = partial(prepare_job, dataset=dataset, convention=convention, on_device=on_device)
    # Batches hold triples of one (fused, IR, VIS) shape needing the same device metrics.
    pending: dict[tuple, list[Prepared]] = {}
    for prepared in run_jobs(jobs, worker, workers):
        ready = [item for item in prepared if isinstance(item, Outcome)]
        if ready:
            yield ready
        for item in prepared:
            if isinstance(item, Prepared):
                names = tuple(m for m in item.task.metrics if m in on_device)
                key = (names, *(image.shape for image in item.images))
                bucket = pending.setdefault(key, [])
                bucket.append(item)
                if len(bucket) == batch_size:
                    yield evaluate_batch(pending.pop(key), names, dataset, convention, device)
    for (names, *_), bucket in pending.items():
        yield evaluate_batch(bucket, names, dataset, convention, device)


def _prepare_worker() -> None:
    """Worker initializer: one thread per process, so N workers use N cores; freed memory
    kept for reuse (:mod:`ivifbench.allocator`)."""
    import cv2

    cv2.setNumThreads(1)
    keep_freed_memory()


def run_jobs(
    jobs: Sequence[Job], worker: Callable[[Job], list[Outcome]], workers: int
) -> Iterator[list[Outcome]]:
    """Yield the outcomes of every job (in completion order) using ``workers`` processes."""
    if workers == 1 or len(jobs) <= 1:
        yield from map(worker, jobs)
        return
    chunksize = max(1, min(4, len(jobs) // (workers * 8)))
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ivifbench.eval"])
    with context.Pool(workers, initializer=_prepare_worker) as pool:
        yield from pool.imap_unordered(worker, jobs, chunksize=chunksize)


def _relative(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` (POSIX separators), for the table's file columns."""
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def build_rows(
    plan: Plan,
    values: dict[int, dict[str, float]],
    metrics: Sequence[str],
    convention: str,
    version: str,
    table_dir: Path,
) -> pd.DataFrame:
    """The per-image rows of the triples that have values, in the table's column order."""
    records = []
    for index in sorted(values):
        triple = plan.triples[index]
        record: dict[str, object] = {
            "dataset": plan.dataset,
            "method": triple.method,
            "image": triple.image,
        }
        record.update({m: values[index][m] for m in metrics})
        record.update(
            convention=convention,
            version=version,
            split=plan.split,
            fused_file=_relative(triple.fused, table_dir),
            ir_file=_relative(triple.ir, table_dir),
            vis_file=_relative(triple.vis, table_dir),
        )
        records.append(record)
    return pd.DataFrame(records, columns=[*ID_COLUMNS, *metrics, *META_COLUMNS])


def read_table(path: Path) -> pd.DataFrame:
    """Read a per-image table written by eval: text columns as str, metrics as float64.

    Metric cells are parsed with Python's ``float`` (exact round trip of the 17 written digits;
    an empty cell is NaN). Tables written before the ``split`` column existed get it empty.
    Raises ValueError naming the file, column and row of a bad cell.
    """
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "split" not in table.columns and "version" in table.columns:
        table.insert(table.columns.get_loc("version") + 1, "split", "")
    for column in table_metrics(table):
        values = np.empty(len(table))
        for row, text in enumerate(table[column]):
            try:
                values[row] = float(text) if text else np.nan
            except ValueError:
                raise ValueError(
                    f"{path}: column {column!r}, row {row + 2}: {text!r} is not a number"
                ) from None
        table[column] = values
    return table


def table_metrics(table: pd.DataFrame) -> list[str]:
    """Metric columns of a per-image table (everything that is not an id or meta column)."""
    fixed = {*ID_COLUMNS, *META_COLUMNS}
    return [c for c in table.columns if c not in fixed]


def check_compatible(existing: pd.DataFrame, convention: str, metrics: Sequence[str]) -> None:
    """Raise :class:`TableMismatchError` unless ``existing`` is an eval table of the same
    convention and metric set (a table never mixes conventions or metric lists)."""
    missing = [c for c in (*ID_COLUMNS, *META_COLUMNS) if c not in existing.columns]
    if missing:
        raise TableMismatchError(f"is not an eval table (missing columns {', '.join(missing)})")
    other = sorted(set(existing["convention"]) - {convention})
    if other:
        raise TableMismatchError(
            f"holds convention {', '.join(other)}, this run uses {convention}; "
            "write to another file"
        )
    if set(table_metrics(existing)) != set(metrics):
        raise TableMismatchError(
            f"has metrics {','.join(table_metrics(existing))}, this run computes "
            f"{','.join(metrics)}; pass the same --metrics or write to another file"
        )


def check_split(existing: pd.DataFrame, dataset: str, methods: Iterable[str], split: str) -> None:
    """Raise :class:`TableMismatchError` when rows of ``dataset`` that this run keeps (other
    methods) were evaluated on another split: one dataset's rows share one split."""
    kept = existing[(existing["dataset"] == dataset) & ~existing["method"].isin(list(methods))]
    other = sorted(set(kept["split"]) - {split})
    if other:
        shown = ", ".join(repr(o) if o else "no split" for o in other)
        raise TableMismatchError(
            f"holds {dataset} rows evaluated with {shown}, this run uses "
            f"{repr(split) if split else 'no split'}; write to another file"
        )


def merge_into(
    existing: pd.DataFrame, new: pd.DataFrame, dataset: str, methods: Iterable[str]
) -> tuple[pd.DataFrame, int]:
    """Replace the rows of (``dataset``, each of ``methods``) in ``existing`` by ``new``.

    Rows of other datasets and methods are kept (this is how a method is appended). Returns the
    merged table, sorted by dataset, method and image, and the number of rows kept.
    """
    replaced = (existing["dataset"] == dataset) & existing["method"].isin(list(methods))
    kept = existing.loc[~replaced, list(new.columns)]
    merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new
    merged = merged.sort_values(list(ID_COLUMNS), kind="stable", ignore_index=True)
    return merged, len(kept)


def write_csv_atomic(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` to ``path`` through a temporary file, so a crash leaves no half table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def lock_path_for(path: Path) -> Path:
    """The lock file of ``path``: ``.<name>.lock`` in its folder (left in place: removing a
    lock file another process may be waiting on would let a third one in)."""
    return path.with_name(f".{path.name}.lock")


def read_existing_table(output: Path) -> pd.DataFrame | None:
    """The table at ``output`` (None when absent); TableMismatchError if it cannot be read."""
    if not output.exists():
        return None
    try:
        return read_table(output)
    except (ValueError, pd.errors.ParserError) as exc:
        raise TableMismatchError(f"cannot be read as a per-image table ({exc})") from None


def merge_problems(
    path: Path, new: pd.DataFrame, dataset: str, methods: Iterable[str]
) -> pd.DataFrame:
    """The problems report at ``path`` with the rows of this run's dataset (its evaluated
    methods and its dataset-level rows, empty method) replaced by ``new``."""
    if not path.exists():
        return new
    try:
        existing = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"{path}: cannot be read as a problems report ({exc})") from None
    if list(existing.columns) != list(PROBLEM_COLUMNS):
        raise ValueError(f"{path}: not a problems report (columns {', '.join(PROBLEM_COLUMNS)})")
    ours = (existing["dataset"] == dataset) & (
        existing["method"].isin(list(methods)) | (existing["method"] == "")
    )
    merged = pd.concat([existing[~ours], new], ignore_index=True) if (~ours).any() else new
    return merged.sort_values(["dataset", "method", "image", "kind", "file"], ignore_index=True)


def problems_path_for(output: Path) -> Path:
    """Problems report next to the table: ``per_image.csv`` -> ``per_image.problems.csv``."""
    return output.with_name(f"{output.stem}.problems.csv")


def lookup_cached(
    plan: Plan,
    cache: ValueCache,
    convention: str,
    version: str,
    metrics: Sequence[str],
    progress: bool,
) -> tuple[dict[int, dict[str, float]], list[Job], dict[int, str], list[Problem]]:
    """Split the plan into cached values and jobs for the metrics still missing.

    Returns (complete values by triple index, jobs (one per source pair), result key by triple
    index, problems for files that vanished or could not be read while hashing).
    """
    done: dict[int, dict[str, float]] = {}
    by_pair: dict[tuple[Path, Path], list[Task]] = {}
    keys: dict[int, str] = {}
    problems: list[Problem] = []
    triples = tqdm(plan.triples, desc="hashing", unit="image", disable=not progress, leave=False)
    for index, triple in enumerate(triples):
        try:
            shas = [cache.file_sha256(p) for p in (triple.fused, triple.ir, triple.vis)]
        except OSError as exc:
            problems.append(
                Problem(
                    plan.dataset,
                    triple.method,
                    triple.image,
                    str(exc.filename or triple.fused),
                    "unreadable",
                    exc.strerror or str(exc),
                )
            )
            continue
        keys[index] = result_key(*shas, convention, version)
        stored = cache.get(keys[index])
        todo = tuple(m for m in metrics if m not in stored)
        if todo:
            by_pair.setdefault((triple.ir, triple.vis), []).append(Task(index, triple, todo))
        else:
            done[index] = stored
    jobs = [Job(tuple(tasks)) for tasks in by_pair.values()]
    return done, jobs, keys, problems


def run_eval(
    results_dir: Path,
    ir_dir: Path,
    vis_dir: Path,
    output: Path,
    *,
    dataset: str,
    convention: str,
    metrics: Sequence[str],
    version: str,
    workers: int = 1,
    cache_path: Path | None = None,
    problems_path: Path | None = None,
    progress: bool = True,
    split: Split | None = None,
    device: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> EvalSummary:
    """Evaluate every method folder of ``results_dir`` and write/extend the table ``output``.

    ``split`` restricts the evaluation to the images it lists and reports those missing
    (:func:`~ivifbench.matching.plan_evaluation`). ``cache_path=None`` disables reuse across
    runs. ``device``: the metrics the torch backend covers are computed there, in batches of at
    most ``batch_size`` triples of one image shape (:func:`run_device_jobs`). The problems
    report goes to ``problems_path`` (default :func:`problems_path_for`). Raises ValueError
    for an unusable layout and :class:`TableMismatchError` for an incompatible existing
    ``output`` (both before anything is computed).
    """
    start = time.perf_counter()
    plan = plan_evaluation(results_dir, ir_dir, vis_dir, dataset, split)
    existing = read_existing_table(output)
    if existing is not None:  # refused before any work; checked again under the lock
        check_compatible(existing, convention, metrics)
        check_split(existing, dataset, plan.methods, plan.split)

    problems = list(plan.problems)
    with ValueCache(cache_path) as cache:
        values, jobs, keys, hash_problems = lookup_cached(
            plan, cache, convention, version, metrics, progress
        )
        problems += hash_problems
        from_cache = len(values)
        if device is None:
            worker = partial(evaluate_job, dataset=dataset, convention=convention)
            batches = run_jobs(jobs, worker, workers)
        else:
            batches = run_device_jobs(jobs, dataset, convention, device, batch_size, workers)
        tasks = sum(len(job.tasks) for job in jobs)
        bar = tqdm(total=tasks, desc=f"eval {dataset}", unit="image", disable=not progress)
        for done_jobs, outcomes in enumerate(batches, start=1):
            bar.update(len(outcomes))
            for outcome in outcomes:
                triple = plan.triples[outcome.index]
                problems += [
                    Problem(
                        dataset,
                        triple.method,
                        triple.image,
                        str(triple.fused),
                        "metric_warning",
                        message,
                    )
                    for message in outcome.warnings
                ]
                if outcome.problem is not None:
                    problems.append(outcome.problem)
                    continue
                cache.put(keys[outcome.index], outcome.values)
                values[outcome.index] = cache.get(keys[outcome.index])
            if done_jobs % COMMIT_EVERY == 0:
                cache.commit()
        bar.close()

    new = build_rows(plan, values, metrics, convention, version, output.parent)
    problems.sort(key=lambda p: (p.dataset, p.method, p.image, p.kind, p.file))
    problem_table = pd.DataFrame([vars(p) for p in problems], columns=list(PROBLEM_COLUMNS))
    problems_path = problems_path or problems_path_for(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    problems_path.parent.mkdir(parents=True, exist_ok=True)
    # table first, then problems: every run takes the two locks in the same order
    with FileLock(lock_path_for(output)), FileLock(lock_path_for(problems_path)):
        kept = 0
        table = new
        existing = read_existing_table(output)  # as other runs may have left it meanwhile
        if existing is not None:
            check_compatible(existing, convention, metrics)
            check_split(existing, dataset, plan.methods, plan.split)
            table, kept = merge_into(existing, new, dataset, plan.methods)
        merged_problems = merge_problems(problems_path, problem_table, dataset, plan.methods)
        write_csv_atomic(table, output)
        write_csv_atomic(merged_problems, problems_path)
    return EvalSummary(
        dataset=dataset,
        methods=plan.methods,
        pairs=plan.pairs,
        evaluated=len(values),
        from_cache=from_cache,
        computed=len(values) - from_cache,
        kept_rows=kept,
        rows=len(table),
        seconds=time.perf_counter() - start,
        problems=problems,
        split=plan.split,
        outside_split=plan.outside_split,
    )


def format_summary(summary: EvalSummary, output: Path, problems_path: Path, shown: int = 20) -> str:
    """Human-readable end-of-run summary: counts, problems by kind, the first problems."""
    lines = [
        f"{summary.dataset}: {len(summary.methods)} method(s) x {summary.pairs} source pair(s); "
        f"{summary.evaluated} image(s) evaluated ({summary.from_cache} from cache, "
        f"{summary.computed} computed) in {summary.seconds:.1f} s",
        f"wrote {output} ({summary.rows} rows"
        + (f", {summary.kept_rows} kept from earlier runs)" if summary.kept_rows else ")"),
    ]
    if summary.split:
        missing = sum(p.kind == "missing_split" for p in summary.problems)
        lines.append(
            f"split {summary.split}: {summary.pairs} of its images present, {missing} missing; "
            f"{summary.outside_split} source pair(s) outside the split not evaluated"
        )
    if not summary.problems:
        lines.append("problems: none")
        return "\n".join(lines)
    counts = Counter(p.kind for p in summary.problems)
    by_kind = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
    lines.append(f"problems: {len(summary.problems)} ({by_kind}) -> {problems_path}")
    for p in summary.problems[:shown]:
        where = "/".join(part for part in (p.method, p.image) if part) or "-"
        lines.append(f"  {p.kind:<15} {where:<30} {p.file}: {p.detail}")
    if len(summary.problems) > shown:
        lines.append(f"  ... {len(summary.problems) - shown} more in {problems_path}")
    return "\n".join(lines)
