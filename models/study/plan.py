"""Check a study against its data before anything is written: builds, test pairs, references.

Every distinct recipe of the grid is planned once (:func:`ivifdata.build.plan_build`, keyed by
the recipe digest); the test selection is scanned the same way; a test pair that shares an image
(by content hash) with a training selection is an error, as is an empty test selection.
Problems are :class:`~.spec.StudyError` naming the study key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ivifdata.build import Plan, plan_build
from ivifdata.files import images_by_stem
from ivifdata.recipe import RecipeError
from ivifdata.sources import resolve_sources
from ivifdata.tarshards import sha256_file

from .spec import MODELS, Study, StudyError, selection_recipe


@dataclass(frozen=True)
class TestPair:
    """One test pair: ``id`` (unique file stem within ``dataset``) and its two source files."""

    dataset: str
    id: str
    ir: Path
    vis: Path
    ir_sha256: str
    vis_sha256: str


@dataclass(frozen=True)
class ReferenceRow:
    """A folder of fused images shown beside the trained rows: the image of each test pair
    (``(dataset, id) -> file``) and the sha256 of each, so that a changed image is fused
    (copied) and evaluated again."""

    folder: Path
    images: dict[tuple[str, str], Path]
    sha256: dict[tuple[str, str], str]


@dataclass(frozen=True)
class StudyPlan:
    """A study checked against the data: build plans by recipe digest, test pairs, references."""

    study: Study
    builds: dict[str, Plan]
    tests: list[TestPair]
    released: dict[str, Path]  # model -> released weights file (when $IVIF_WEIGHTS has it)
    references: dict[str, ReferenceRow]  # row name -> its fused images

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(t.dataset for t in self.tests))


def _renamed(exc: RecipeError, prefix: str, band_prefix: str) -> list[str]:
    """Recipe problems as study keys: ``ir.split: ...`` -> ``data.test.split: ...``."""
    out = []
    for problem in exc.problems:
        for band in ("ir.", "vis."):
            if problem.startswith(band):
                problem = band_prefix + problem[len(band) :]
                break
        else:
            problem = prefix + problem
        out.append(problem)
    return out


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text)


def _test_pairs(study: Study, workers: int) -> list[TestPair]:
    recipe = selection_recipe(study.data, "test", study.base_dir, study.source)
    try:
        (selection,) = resolve_sources(recipe, workers)
    except RecipeError as exc:
        raise StudyError(_renamed(exc, "data.test: ", "data.test."), study.source) from None
    if not selection.units:
        raise StudyError(["data.test: the test selection holds no aligned pair"], study.source)
    stems: dict[tuple[str, str], int] = {}
    for unit in selection.units:
        key = (unit.dataset, Path(unit.rel[0]).stem)
        stems[key] = stems.get(key, 0) + 1
    pairs = []
    for unit in selection.units:
        stem = Path(unit.rel[0]).stem
        unique = stems[(unit.dataset, stem)] == 1
        pair_id = stem if unique else _safe(str(Path(unit.rel[0]).with_suffix("")))
        pairs.append(
            TestPair(unit.dataset or "test", pair_id, unit.paths[0], unit.paths[1], *unit.sha256)
        )
    return pairs


def _released(study: Study) -> dict[str, Path]:
    from ivifmodels.weights import RELEASED_FILES, WEIGHTS_ENV

    folder = os.environ.get(WEIGHTS_ENV)
    if not study.get("evaluation.released") or not folder:
        return {}
    found = {m: Path(folder) / RELEASED_FILES[m] for m in study.get("models")}
    return {m: p for m, p in found.items() if p.is_file()}


def plan_study(study: Study, workers: int = 1) -> StudyPlan:
    """Plan every build and the test split; raise StudyError naming the key on any problem."""
    builds: dict[str, Plan] = {}
    for variant in study.variants:
        if variant.digest in builds:
            continue
        try:
            builds[variant.digest] = plan_build(variant.recipe, workers)
        except RecipeError as exc:
            raise StudyError(
                _renamed(exc, f"paradigms.{variant.label}: ", "data.train."), study.source
            ) from None
    tests = _test_pairs(study, workers)
    trained = {
        sha
        for plan in builds.values()
        for source_set in plan.source_sets
        for unit in source_set.units
        for sha in unit.sha256
    }
    inside = [t for t in tests if t.ir_sha256 in trained or t.vis_sha256 in trained]
    if inside:
        raise StudyError(
            [
                f"data.test: {len(inside)} of {len(tests)} test pair(s) are inside the training "
                f"bank (e.g. {inside[0].dataset}/{inside[0].ir.name}); select disjoint images "
                "with data.train and data.test"
            ],
            study.source,
        )
    references = {
        name: _reference_row(study, name, folder, tests)
        for name, folder in study.get("references").items()
    }
    return StudyPlan(study, builds, tests, _released(study), references)


def _reference_row(study: Study, name: str, folder: str, tests: list[TestPair]) -> ReferenceRow:
    """The reference folder's image of every test pair: ``<folder>/<dataset>/<id>.<ext>``, else
    ``<folder>/<id>.<ext>`` (matched as ``ivifbench eval`` matches, :mod:`ivifdata.files`).
    A missing folder or image, or a name that clashes with a trained row, is a StudyError."""
    key = f"references.{name}"
    if name in MODELS or "." in name:
        raise StudyError([f"{key}: name clashes with a trained row"], study.source)
    path = study.resolve(folder)
    if not path.is_dir():
        raise StudyError([f"{key}: {path} is not a folder"], study.source)
    indexes = {path: images_by_stem(path)}
    images: dict[tuple[str, str], Path] = {}
    missing = []
    for t in tests:
        sub = path / t.dataset
        if sub not in indexes:
            indexes[sub] = images_by_stem(sub) if sub.is_dir() else None
        found = [index.by_stem.get(t.id) for index in (indexes[sub], indexes[path]) if index]
        found = [p for p in found if p is not None]
        if found:
            images[(t.dataset, t.id)] = found[0]
        else:
            missing.append(f"{t.dataset}/{t.id}")
    if missing:
        raise StudyError(
            [
                f"{key}: no image for {len(missing)} of {len(tests)} test pair(s) in {path} "
                f"(e.g. {missing[0]}); name each <id>.<ext>, in the folder or in <dataset>/"
            ],
            study.source,
        )
    return ReferenceRow(path, images, {k: sha256_file(p) for k, p in images.items()})
