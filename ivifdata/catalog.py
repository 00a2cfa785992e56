"""``scan``: raw dataset folders -> catalog (images), pairs and problems as pandas DataFrames."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd
from tqdm import tqdm

from ivifdata.atomic import atomic_path
from ivifdata.files import is_image_name
from ivifdata.fswalk import walk_files
from ivifdata.layouts import LAYOUTS, detect
from ivifdata.layouts.base import Extra, Ignored, Source
from ivifdata.probe import CHECKS, Probe, probe_task
from ivifdata.scan_pairs import PAIR_COLUMNS, build_pairs

IMAGE_COLUMNS = [
    "path",
    "dataset",
    "split",
    "group",
    "key",
    "modality",
    "reason",
    "illumination",
    "width",
    "height",
    "channels",
    "mode",
    "bit_depth",
    "gray_in_3ch",
    "bytes",
    "sha256",
]
_INT_COLUMNS = ("width", "height", "channels", "bit_depth", "bytes")
_BOOL_TEXT = {"True": True, "False": False, "": None}
#: ``split, group, key, modality`` are the layout's verdict for a source file that could not be
#: used (empty for other problems).
PROBLEM_COLUMNS = ["path", "dataset", "split", "group", "key", "modality", "kind", "message"]
DATASET_COLUMNS = ["dataset", "layout", "root"]

#: Problem kinds that mean "a file was expected to be usable but is not".
ERROR_KINDS = frozenset(
    {
        "empty file",
        "corrupt image",
        "too large",
        "not an image",
        "unreadable",
        "symlink loop",
        "broken symlink",
        "unmatched",
        "ambiguous",
        "size mismatch",
    }
)


class LayoutNotFoundError(ValueError):
    """No layout matched the scan root; the message lists the layouts tried."""


@dataclass
class ScanResult:
    """The outcome of :func:`scan`: four DataFrames (see docs/datasets.md for the columns).

    Paths are relative to the scan root, POSIX style. ``images`` has one row per catalogued
    file (sources and extras), ``pairs`` one row per pair, ``problems`` one row per file or
    folder that could not be used, ``datasets`` one row per detected dataset root.
    """

    root: Path
    images: pd.DataFrame
    pairs: pd.DataFrame
    problems: pd.DataFrame
    datasets: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DATASET_COLUMNS))

    @property
    def usable(self) -> bool:
        """True when at least one source image was catalogued."""
        return bool((self.images["modality"] != "extra").any()) if len(self.images) else False

    def write(self, outdir: str | Path) -> list[Path]:
        """Write ``catalog.csv``, ``pairs.csv``, ``problems.csv`` (and ``datasets.csv``)
        atomically (temp name, then rename) into ``outdir``; return the paths written."""
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, frame in (
            ("catalog.csv", self.images),
            ("pairs.csv", self.pairs),
            ("problems.csv", self.problems),
            ("datasets.csv", self.datasets),
        ):
            target = outdir / name
            with atomic_path(target) as tmp:
                frame.to_csv(tmp, index=False)
            written.append(target)
        return written

    @classmethod
    def read(cls, outdir: str | Path, root: str | Path = ".") -> ScanResult:
        """Load the tables written by :meth:`write` back with their dtypes (empty text stays
        ``""``, integers ``Int64``, ``gray_in_3ch`` nullable boolean)."""
        outdir = Path(outdir)
        frames = {}
        for name, columns in (
            ("catalog.csv", IMAGE_COLUMNS),
            ("pairs.csv", PAIR_COLUMNS),
            ("problems.csv", PROBLEM_COLUMNS),
            ("datasets.csv", DATASET_COLUMNS),
        ):
            frame = pd.read_csv(outdir / name, dtype=str, keep_default_na=False)
            frames[name] = frame.reindex(columns=columns)
        images = frames["catalog.csv"]
        for col in _INT_COLUMNS:
            images[col] = pd.to_numeric(images[col].replace("", None)).astype("Int64")
        images["gray_in_3ch"] = images["gray_in_3ch"].map(_BOOL_TEXT).astype("boolean")
        return cls(
            root=Path(root),
            images=images,
            pairs=frames["pairs.csv"],
            problems=frames["problems.csv"],
            datasets=frames["datasets.csv"],
        )

    def summary(self) -> pd.DataFrame:
        """Per dataset name: layout(s), root(s), and counts of sources, extras, pairs, problems."""
        rows = []
        for dataset, roots in self.datasets.groupby("dataset", sort=True):
            imgs = self.images[self.images["dataset"] == dataset]
            rows.append(
                {
                    "dataset": dataset,
                    "layout": ",".join(sorted(set(roots["layout"]))),
                    "root": ",".join(roots["root"]),
                    "sources": int((imgs["modality"] != "extra").sum()),
                    "extras": int((imgs["modality"] == "extra").sum()),
                    "pairs": int((self.pairs["dataset"] == dataset).sum()),
                    "problems": int((self.problems["dataset"] == dataset).sum()),
                }
            )
        other = int((self.problems["dataset"] == "").sum())
        if other:
            rows.append(
                {"dataset": "(outside)", "layout": "", "root": "", "sources": 0, "extras": 0}
                | {"pairs": 0, "problems": other}
            )
        return pd.DataFrame(rows)


def no_layout_message(root: Path) -> str:
    """The error text for a root where no layout matched: what was tried, what to do."""
    tried = "\n".join(f"  {name}: {lay.signature}" for name, lay in LAYOUTS.items())
    return (
        f"{root}: no dataset layout recognised here or in its sub-folders.\nLayouts tried:\n"
        f"{tried}\nUse --layout NAME to force one, e.g. --layout generic."
    )


def _posix(path: Path, root: Path) -> str:
    return PurePosixPath(*path.relative_to(root).parts).as_posix()


def _owner(path: Path, roots: list[tuple[str, Path]]) -> tuple[str, Path] | None:
    """The (layout, dataset root) whose folder holds ``path``; ``roots`` sorted deepest first."""
    text = str(path)
    for name, droot in roots:
        prefix = str(droot)
        if text == prefix or text.startswith(prefix.rstrip(os.sep) + os.sep):
            return name, droot
    return None


def _run_probes(tasks: list[tuple[str, bool]], workers: int, progress: bool) -> Iterable[Probe]:
    bar = dict(total=len(tasks), desc="scan", unit="file", disable=not progress)
    if workers <= 1 or len(tasks) < 2:
        return list(tqdm(map(probe_task, tasks), **bar))
    chunk = max(1, min(64, len(tasks) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(probe_task, tasks, chunksize=chunk), **bar))


def _dataset_roots(root: Path, layout: str | None) -> list[tuple[str, Path]]:
    """``(layout, dataset root)`` pairs to scan, deepest root first (see :func:`scan`)."""
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such folder")
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder")
    if layout is not None:
        if layout not in LAYOUTS:
            raise KeyError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
        return [(layout, root)]
    roots = detect(root)
    if not roots:
        raise LayoutNotFoundError(no_layout_message(root))
    return sorted(roots, key=lambda item: len(item[1].parts), reverse=True)


def problem_row(
    path: str, dataset: str, kind: str, message: str, verdict: Source | Extra | None = None
) -> dict[str, str]:
    """One ``problems`` row; ``verdict`` (a file's layout assignment) fills split, group, key and
    modality (``extra`` for extras)."""
    return {
        "path": path,
        "dataset": dataset,
        "split": verdict.split if verdict else "",
        "group": verdict.group if verdict else "",
        "key": verdict.key if verdict else "",
        "modality": (verdict.band if isinstance(verdict, Source) else "extra") if verdict else "",
        "kind": kind,
        "message": message,
    }


def _catalog_row(rel: str, dataset: str, verdict: Source | Extra, probe: Probe) -> dict:
    """One ``images`` row from a file's layout verdict and what reading it gave."""
    is_source = isinstance(verdict, Source)
    return {
        "path": rel,
        "dataset": dataset,
        "split": verdict.split,
        "group": verdict.group,
        "key": verdict.key,
        "modality": verdict.band if is_source else "extra",
        "reason": "" if is_source else verdict.reason,
        "illumination": verdict.illumination if is_source else "",
        **{k: v for k, v in probe.as_dict().items() if k in IMAGE_COLUMNS},
    }


def _images_frame(rows: list[dict]) -> pd.DataFrame:
    """The ``images`` table, sorted by path, with nullable integer/boolean columns."""
    images = pd.DataFrame(rows, columns=IMAGE_COLUMNS)
    for col in _INT_COLUMNS:
        images[col] = images[col].astype("Int64")
    images["gray_in_3ch"] = images["gray_in_3ch"].astype("boolean")
    return images.sort_values("path", ignore_index=True)


def scan(
    root: str | Path,
    layout: str | None = None,
    workers: int = 1,
    progress: bool = False,
    check: str = "decode",
) -> ScanResult:
    """Catalog every file under ``root``.

    ``layout`` forces one layout for ``root`` (then ``root`` is the dataset root); by default
    the dataset roots are detected (``root`` may be one dataset or a folder of several).
    ``workers`` > 1 reads and decodes in that many processes. With ``check="decode"`` (default)
    every image is fully decoded, so corrupt files are found by content; ``check="header"``
    only verifies headers (and PNG CRCs) -- ~15x faster, but damaged JPEG/BMP/TIFF pixel data
    is not found and ``gray_in_3ch`` is left empty.

    Raises ``FileNotFoundError``/``NotADirectoryError`` for a bad root, ``KeyError`` for an
    unknown layout, :class:`LayoutNotFoundError` when nothing matches.
    """
    root = Path(root)
    if check not in CHECKS[:2]:
        raise ValueError(f"check must be 'decode' or 'header', got {check!r}")
    roots = _dataset_roots(root, layout)
    dataset_of_root = {droot: LAYOUTS[name].dataset_name(droot) for name, droot in roots}
    files, walk_problems = walk_files(root)
    problems: list[dict[str, str]] = []
    for wp in walk_problems:
        owner = _owner(wp.path, roots)
        dataset = dataset_of_root[owner[1]] if owner else ""
        problems.append(problem_row(_posix(wp.path, root), dataset, wp.kind, wp.message))

    pending: list[tuple[str, str, Source | Extra]] = []  # (rel path, dataset, assignment)
    tasks: list[tuple[str, str]] = []  # (absolute path, check) for the probes
    for path in files:
        rel = _posix(path, root)
        owner = _owner(path, roots)
        if owner is None:
            problems.append(
                problem_row(rel, "", "outside dataset", "not under any detected dataset root")
            )
            continue
        name, droot = owner
        dataset = dataset_of_root[droot]
        verdict = LAYOUTS[name].assign(PurePosixPath(*path.relative_to(droot).parts), droot)
        if isinstance(verdict, Ignored):
            problems.append(problem_row(rel, dataset, "ignored", verdict.reason))
        elif verdict is None:
            what = "image" if is_image_name(path) else "file"
            message = f"{what} does not fit the {name} layout"
            problems.append(problem_row(rel, dataset, "unmatched", message))
        else:
            pending.append((rel, dataset, verdict))
            is_image = isinstance(verdict, Source) or is_image_name(path)
            tasks.append((str(path), check if is_image else "none"))

    rows = []
    for (rel, dataset, verdict), probe in zip(
        pending, _run_probes(tasks, workers, progress), strict=True
    ):
        if probe.error_kind:
            problems.append(problem_row(rel, dataset, probe.error_kind, probe.error, verdict))
        else:
            rows.append(_catalog_row(rel, dataset, verdict, probe))
    images = _images_frame(rows)
    pairs, pair_problems = build_pairs(images)
    problems.extend(pair_problems)
    problem_frame = pd.DataFrame(problems, columns=PROBLEM_COLUMNS).sort_values(
        ["dataset", "path"], kind="stable", ignore_index=True
    )
    datasets = pd.DataFrame(
        [
            (dataset_of_root[droot], name, _posix(droot, root) or ".")
            for name, droot in sorted(roots, key=lambda r: str(r[1]))
        ],
        columns=DATASET_COLUMNS,
    )
    return ScanResult(
        root=root,
        images=images,
        pairs=pairs.reindex(columns=PAIR_COLUMNS),
        problems=problem_frame,
        datasets=datasets,
    )
