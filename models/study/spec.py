"""Study files (``manifests/study-*.yaml``): schema, validation, ``--set`` and the grid of cells.

A study file names the data (one folder of dataset roots, a train and a test selection), a base
build recipe, named *paradigms* (dotted recipe keys overridden per paradigm; a list value is a
sweep, expanded into one variant per value), the models, the seeds and one training schedule.
Steps, batch and learning rate live only in ``train:`` and no paradigm can set them, so every
cell runs the same number of optimisation steps on the same batch size (the fair comparison).

:func:`load_study` checks the file alone; :class:`StudyError` lists ``"key: what is wrong"``
problems, as :class:`ivifdata.recipe.RecipeError` does for recipes. Checks that need the data
(empty test split, test pairs inside the training bank) are made by :mod:`.plan`.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivifdata.recipe import (
    PACKAGE_PREFIX,
    Field,
    Recipe,
    RecipeError,
    _walk,
    read_yaml,
    validate,
)
from ivifmodels.names import TRAINABLE

#: The baselines a study can train.
MODELS = TRAINABLE

#: Recipe keys a study sets itself; a paradigm or the base recipe may not set them.
STUDY_OWNED = ("name", "data_dir", "ir", "vis")

#: Name every study recipe gets, so identical recipes share one build whatever the paradigm.
RECIPE_NAME = "study"

_SELECTION = {
    "split": Field("str_or_list", None, nullable=True, doc="split name(s); null = all"),
    "dataset": Field("str_or_list", None, nullable=True, doc="dataset name(s); null = all"),
    "list": Field("str", None, nullable=True, doc="text file of IR paths relative to data.root"),
}

#: Sections of a study file validated field by field (``recipe`` and ``paradigms`` are checked
#: through the build-recipe schema, ``models`` and ``seeds`` below).
SCHEMA: dict[str, Any] = {
    "data": {
        "root": Field(
            "str", doc="folder of dataset roots: relative to the study file, or package:sample"
        ),
        "layout": Field("str", None, nullable=True, doc="layout name; null = auto-detect"),
        "train": _SELECTION,
        "test": _SELECTION,
    },
    "train": {
        "steps": Field("int", minimum=1, doc="optimisation steps of every cell"),
        "batch": Field("int", 8, minimum=1, doc="pairs per step, every cell"),
        "lr": Field("number", 1e-4, minimum=1e-12, doc="Adam learning rate"),
        "checkpoint_every": Field("int", 10, minimum=1, doc="steps between checkpoints"),
    },
    "evaluation": {
        "convention": Field("str", "cddfuse", choices=("cddfuse", "tang", "vifb")),
        "metrics": Field("str_or_list", None, nullable=True, doc="null = convention defaults"),
        "tile": Field("int", 128, minimum=4, doc="fusion tile (pixels)"),
        "stride": Field("int", 64, minimum=1, doc="fusion tile stride (pixels)"),
        "gray": Field("bool", False, doc="gray fused images for colour VIS"),
        "grid_images": Field("int", 2, minimum=1, doc="test images per qualitative grid"),
        "alpha": Field("number", 0.05, minimum=1e-9, maximum=0.5, doc="significance level"),
        "released": Field("bool", False, doc="add the released weights ($IVIF_WEIGHTS) as rows"),
    },
}
TOP_KEYS = (
    "name",
    "data",
    "recipe",
    "paradigms",
    "models",
    "seeds",
    "train",
    "evaluation",
    "references",
)

#: ``--set`` keys holding paths (resolved against the current directory).
PATH_KEYS = ("data.root", "data.train.list", "data.test.list")


class StudyError(ValueError):
    """A study problem. ``problems`` is a list of ``"key: what is wrong"`` strings."""

    def __init__(self, problems: Iterable[str], source: str = "study"):
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: " + "; ".join(self.problems))


@dataclass(frozen=True)
class Variant:
    """One paradigm variant: ``label`` (``aptp`` or ``aptp[subset.n=16]``) and its recipe."""

    paradigm: str
    label: str
    recipe: Recipe

    @property
    def digest(self) -> str:
        return self.recipe.digest()


@dataclass(frozen=True)
class Cell:
    """One training run of the grid: a variant, a model and a seed (network and pair seed)."""

    variant: Variant
    model: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.variant.label}/{self.model}/s{self.seed}"

    @property
    def method(self) -> str:
        """Method name in the per-image table (one folder of fused images)."""
        return f"{self.variant.label}.{self.model}.s{self.seed}"


@dataclass(frozen=True)
class Study:
    """A validated study: the resolved mapping, the variants and the cells, in grid order."""

    data: dict[str, Any]
    base_dir: Path
    source: str
    variants: list[Variant]
    cells: list[Cell]

    def get(self, dotted: str) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            node = node[part]
        return node

    def resolve(self, value: str) -> Path:
        """A study path: ``package:...`` inside ivifdata, else relative to the study's folder."""
        probe = Recipe({}, self.base_dir, self.source)
        return probe.resolve_path(value)

    def digest(self) -> str:
        text = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _set_dotted(node: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[leaf] = value


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists and scalars are leaves)."""
    if not isinstance(node, dict) or not node:
        return {prefix.rstrip("."): node}
    out: dict[str, Any] = {}
    for key, value in node.items():
        out.update(_flatten(value, f"{prefix}{key}."))
    return out


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of ``data`` with each ``KEY=VALUE`` (dotted study key, YAML value) set."""
    data = copy.deepcopy(data)
    for text in overrides:
        if "=" not in text:
            raise StudyError([f"--set {text!r}: expected KEY=VALUE"], "--set")
        key, raw = (part.strip() for part in text.split("=", 1))
        if key.split(".")[0] not in TOP_KEYS:
            raise StudyError([f"{key}: unknown key (from --set {text!r})"], "--set")
        try:
            value = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError:
            value = raw
        if key in PATH_KEYS and isinstance(value, str) and not value.startswith(PACKAGE_PREFIX):
            value = str(Path(value).expanduser().resolve())
        _set_dotted(data, key, value)
    return data


def _source(data: dict[str, Any], selection: dict[str, Any]) -> dict[str, Any]:
    """The recipe source (``ir:``/``vis:``) of a train or test selection."""
    return {
        "root": data["root"],
        "layout": data["layout"],
        "split": selection["split"],
        "dataset": selection["dataset"],
        "list": selection["list"],
    }


def selection_recipe(study_data: dict[str, Any], part: str, base_dir: Path, source: str) -> Recipe:
    """A joint recipe selecting the ``train`` or ``test`` images (for scanning them)."""
    src = _source(study_data["data"], study_data["data"][part])
    data = {
        "name": RECIPE_NAME,
        "ir": src,
        "vis": src,
        "subset": {"n": "all"},
        "pairing": {"mode": "strict"},
    }
    return validate(data, base_dir, source)


def _variants(
    raw: dict[str, Any], base: dict[str, Any], base_dir: Path, source: str, problems: list[str]
) -> list[Variant]:
    out: list[Variant] = []
    if not isinstance(raw, dict) or not raw:
        problems.append("paradigms: must be a non-empty mapping of name -> recipe keys")
        return out
    for name, overrides in raw.items():
        where = f"paradigms.{name}"
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            problems.append(f"{where}: paradigm names use letters, digits, - and _ only")
            continue
        if overrides is None:
            overrides = {}
        if not isinstance(overrides, dict):
            problems.append(f"{where}: must be a mapping of dotted recipe keys")
            continue
        flat = _flatten(overrides) if overrides else {}
        owned = [k for k in flat if k.split(".")[0] in STUDY_OWNED]
        if owned:
            problems.append(
                f"{where}.{owned[0]}: set by the study's data section, not per paradigm"
            )
            continue
        if "pairing.epochs" in flat:
            problems.append(f"{where}.pairing.epochs: the study derives epochs from train.steps")
            continue
        sweeps = {k: v for k, v in flat.items() if isinstance(v, list)}
        if any(not v for v in sweeps.values()):
            problems.append(f"{where}: a sweep needs at least one value")
            continue
        keys = list(sweeps)
        for combo in itertools.product(*(sweeps[k] for k in keys)):
            recipe_data = copy.deepcopy(base)
            for key, value in flat.items():
                _set_dotted(recipe_data, key, value)
            for key, value in zip(keys, combo, strict=True):
                _set_dotted(recipe_data, key, value)
            label = name + (
                "[" + ",".join(f"{k}={v}" for k, v in zip(keys, combo, strict=True)) + "]"
                if keys
                else ""
            )
            try:
                recipe = validate(recipe_data, base_dir, source)
            except RecipeError as exc:
                problems.extend(f"{where}: {p}" for p in exc.problems)
                break
            out.append(Variant(name, label, recipe))
    return out


def _list_of(value: Any, kind: str, key: str, problems: list[str]) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    ok = (
        (lambda v: isinstance(v, str))
        if kind == "str"
        else (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0)
    )
    if not items or not all(ok(v) for v in items):
        wording = "model names" if kind == "str" else "integers >= 0"
        problems.append(f"{key}: must be a non-empty list of {wording}, got {value!r}")
        return []
    if len(set(items)) != len(items):
        problems.append(f"{key}: repeated entries in {value!r}")
    return items


def validate_study(data: Any, base_dir: Path, source: str = "study") -> Study:
    """Check a study mapping; return the :class:`Study` or raise :class:`StudyError`."""
    if not isinstance(data, dict):
        raise StudyError([f"study: must be a mapping, got {type(data).__name__}"], source)
    problems: list[str] = []
    for key in data:
        if key not in TOP_KEYS:
            problems.append(f"{key}: unknown key (known here: {', '.join(TOP_KEYS)})")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.append("name: required key, a non-empty string")
    resolved: dict[str, Any] = {"name": name}
    for section, schema in SCHEMA.items():
        resolved[section] = _walk(schema, data.get(section, {}), f"{section}.", problems)
    models = _list_of(data.get("models"), "str", "models", problems)
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        problems.append(f"models: unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}")
    seeds = _list_of(data.get("seeds", [0]), "int", "seeds", problems)
    resolved["models"], resolved["seeds"] = models, seeds
    references = data.get("references", {}) or {}
    if not isinstance(references, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in references.items()
    ):
        problems.append("references: must map a row name to a folder of fused images")
        references = {}
    resolved["references"] = references
    base = data.get("recipe", {}) or {}
    if not isinstance(base, dict):
        problems.append("recipe: must be a mapping of build-recipe keys")
        base = {}
    owned = [k for k in base if k in STUDY_OWNED]
    if owned:
        problems.append(f"recipe.{owned[0]}: set by the study's data section")
    resolved["recipe"] = base
    if problems:
        raise StudyError(problems, source)
    train_src = _source(resolved["data"], resolved["data"]["train"])
    base_recipe = {**copy.deepcopy(base), "name": RECIPE_NAME, "ir": train_src, "vis": train_src}
    variants = _variants(data.get("paradigms"), base_recipe, base_dir, source, problems)
    resolved["paradigms"] = data.get("paradigms")
    labels = [v.label for v in variants]
    if len(set(labels)) != len(labels):
        problems.append("paradigms: two variants have the same label")
    if problems:
        raise StudyError(problems, source)
    cells = [Cell(v, m, s) for v in variants for m in models for s in seeds]
    return Study(resolved, base_dir, source, variants, cells)


def load_study(path: str | Path, overrides: Iterable[str] = ()) -> Study:
    """Read, override and validate the YAML study file at ``path``."""
    path = Path(path)
    data = read_yaml(path, "study file", StudyError)
    if isinstance(data, dict):
        data = apply_overrides(data, overrides)
    return validate_study(data, path.resolve().parent, str(path))
