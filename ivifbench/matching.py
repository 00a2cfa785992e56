"""Match fused images to their IR and VIS sources by file stem, and list what does not match.

Layout: ``RESULTS/<method>/<stem>.<ext>`` for the fused images, ``IR/<stem>.<ext>`` and
``VIS/<stem>.<ext>`` for the sources. Extensions may differ between the three folders (any of
:data:`ivifdata.files.IMAGE_SUFFIXES`, case-insensitive). Hidden entries (names starting with
``.``) are ignored. Everything else that cannot be matched becomes a :class:`Problem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ivifbench.splits import Split
from ivifdata.files import images_by_stem

#: Every kind of problem eval reports, with what it means. ``metric_warning`` is informational
#: (the image was evaluated, a metric warned, e.g. NaN on a constant image); all other kinds mean
#: an image could not be evaluated or a file was not used.
PROBLEM_KINDS: dict[str, str] = {
    "missing_fused": "a source pair has no fused image in the method's folder",
    "missing_source": "an image has an IR but no VIS source, or the reverse",
    "missing_split": "an image of the --split has no IR/VIS source pair",
    "extra_file": "a file that matches no source pair, or is not an image",
    "duplicate_stem": "two images in one folder share a stem; none of them is used",
    "unreadable": "a file could not be decoded as an image",
    "size_mismatch": "fused, IR and VIS differ in height or width",
    "invalid_input": "the metric core rejected the decoded images",
    "metric_warning": "evaluated, but a metric warned (for example NaN on a constant image)",
}

#: Problem kinds that do not count as failures for ``--strict``.
INFORMATIONAL_KINDS = frozenset({"metric_warning"})


@dataclass(frozen=True)
class Problem:
    """One thing that went wrong. ``method`` and ``image`` are empty where they do not apply."""

    dataset: str
    method: str
    image: str
    file: str
    kind: str
    detail: str

    def __post_init__(self) -> None:
        if self.kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown problem kind {self.kind!r}")


@dataclass(frozen=True)
class Triple:
    """A fused image of ``method`` and its two sources, all sharing the stem ``image``."""

    method: str
    image: str
    fused: Path
    ir: Path
    vis: Path


@dataclass(frozen=True)
class Plan:
    """What one eval run will evaluate, and the problems found while matching.

    ``split``: name of the split the pairs were restricted to ('' for none);
    ``outside_split``: source pairs left out because the split does not list them.
    """

    dataset: str
    methods: tuple[str, ...]
    pairs: int
    triples: tuple[Triple, ...]
    problems: tuple[Problem, ...]
    split: str = ""
    outside_split: int = 0


def index_images(folder: Path, dataset: str, method: str) -> tuple[dict[str, Path], list[Problem]]:
    """Map stem -> image file in ``folder`` (not recursive, ``ivifdata.files`` rules); report
    everything else."""
    found = images_by_stem(folder)
    problems = [
        Problem(dataset, method, "", str(path), "extra_file", reason)
        for path, reason in found.other.items()
    ]
    for stem, files in found.ambiguous.items():
        names = ", ".join(f.name for f in files)
        for file in files:
            problems.append(
                Problem(dataset, method, stem, str(file), "duplicate_stem", f"same stem: {names}")
            )
    return found.by_stem, problems


def match_sources(
    ir_dir: Path, vis_dir: Path, dataset: str
) -> tuple[dict[str, tuple[Path, Path]], list[Problem]]:
    """Pair IR and VIS images by stem: stem -> (ir, vis); unpaired images are problems."""
    ir_index, problems = index_images(ir_dir, dataset, "")
    vis_index, vis_problems = index_images(vis_dir, dataset, "")
    problems += vis_problems
    for stem in sorted(ir_index.keys() - vis_index.keys()):
        detail = f"no VIS image with this stem in {vis_dir}"
        problems.append(Problem(dataset, "", stem, str(ir_index[stem]), "missing_source", detail))
    for stem in sorted(vis_index.keys() - ir_index.keys()):
        detail = f"no IR image with this stem in {ir_dir}"
        problems.append(Problem(dataset, "", stem, str(vis_index[stem]), "missing_source", detail))
    pairs = {
        stem: (ir_index[stem], vis_index[stem])
        for stem in sorted(ir_index.keys() & vis_index.keys())
    }
    return pairs, problems


def match_method(
    method_dir: Path,
    pairs: dict[str, tuple[Path, Path]],
    dataset: str,
    ignored: frozenset[str] = frozenset(),
) -> tuple[list[Triple], list[Problem]]:
    """Triples of one method folder; missing and unmatched fused images are problems.

    Fused images whose stem is in ``ignored`` (source pairs outside the split) are skipped.
    """
    method = method_dir.name
    fused_index, problems = index_images(method_dir, dataset, method)
    duplicated = {p.image for p in problems if p.kind == "duplicate_stem"}
    triples = []
    for stem, (ir, vis) in pairs.items():
        if stem in fused_index:
            triples.append(Triple(method, stem, fused_index[stem], ir, vis))
        elif stem not in duplicated:
            expected = str(method_dir / f"{stem}.*")
            detail = "no fused image with this stem"
            problems.append(Problem(dataset, method, stem, expected, "missing_fused", detail))
    for stem in sorted(fused_index.keys() - pairs.keys() - ignored):
        detail = "no IR/VIS source pair with this stem"
        problems.append(
            Problem(dataset, method, stem, str(fused_index[stem]), "extra_file", detail)
        )
    return triples, problems


def restrict_to_split(
    pairs: dict[str, tuple[Path, Path]], split: Split, dataset: str, ir_dir: Path
) -> tuple[dict[str, tuple[Path, Path]], frozenset[str], list[Problem]]:
    """Keep the pairs the split lists, in split order: (pairs, stems left out, problems).

    Every stem of the split without a source pair is a ``missing_split`` problem.
    """
    problems = [
        Problem(
            dataset,
            "",
            stem,
            str(ir_dir / f"{stem}.*"),
            "missing_split",
            f"listed in split {split.name} but no IR/VIS pair has this stem",
        )
        for stem in split.stems
        if stem not in pairs
    ]
    kept = {stem: pairs[stem] for stem in split.stems if stem in pairs}
    return kept, frozenset(pairs.keys() - kept.keys()), problems


def plan_evaluation(
    results_dir: Path, ir_dir: Path, vis_dir: Path, dataset: str, split: Split | None = None
) -> Plan:
    """Match every method folder of ``results_dir`` against the sources.

    With a ``split``, only the source pairs it lists are evaluated; its stems without a pair are
    ``missing_split`` problems. Files directly in ``results_dir`` are reported as extra files;
    sub-folders that are the IR or VIS folder themselves are skipped. Raises ValueError when there
    is no method folder or no source pair (of the split) (nothing could be evaluated).
    """
    sources = {ir_dir.resolve(), vis_dir.resolve()}
    pairs, problems = match_sources(ir_dir, vis_dir, dataset)
    if not pairs:
        raise ValueError(f"no IR/VIS pair shares a file stem in {ir_dir} and {vis_dir}")
    outside: frozenset[str] = frozenset()
    if split is not None:
        pairs, outside, split_problems = restrict_to_split(pairs, split, dataset, ir_dir)
        problems += split_problems
        if not pairs:
            raise ValueError(
                f"no image of split {split.name} has an IR/VIS pair in {ir_dir} and {vis_dir}"
            )
    method_dirs = []
    for entry in sorted(results_dir.iterdir()):
        if entry.name.startswith(".") or entry.resolve() in sources:
            continue
        if entry.is_dir():
            method_dirs.append(entry)
        else:
            detail = "a file directly in RESULTS; fused images go in RESULTS/<method>/"
            problems.append(Problem(dataset, "", "", str(entry), "extra_file", detail))
    if not method_dirs:
        raise ValueError(f"{results_dir} has no method folder (expected RESULTS/<method>/)")
    triples: list[Triple] = []
    for method_dir in method_dirs:
        method_triples, method_problems = match_method(method_dir, pairs, dataset, outside)
        triples += method_triples
        problems += method_problems
    return Plan(
        dataset=dataset,
        methods=tuple(d.name for d in method_dirs),
        pairs=len(pairs),
        triples=tuple(triples),
        problems=tuple(problems),
        split=split.name if split is not None else "",
        outside_split=len(outside),
    )
