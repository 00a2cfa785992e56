"""Build recipes (``manifests/*.yaml``): schema, strict validation and ``--set`` overrides.

A recipe fully determines a build. :func:`load_recipe` reads the YAML, applies ``--set``
overrides, fills defaults and checks every key *before anything is written*: unknown keys, wrong
types and impossible settings raise :class:`RecipeError`, whose message names each offending key.
Checks that need the data (N larger than available, patch larger than the images) are made by
the planner (:mod:`ivifdata.build`) with the same error type. See ``docs/building.md``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivifdata.imageio import GRAY_RULES
from ivifdata.pair_sampler import MAX_PAIRS_PER_EPOCH, OVERASK_RULES, PAIR_SETS

#: Sentinel for keys without a default.
REQUIRED = object()

#: Root prefix that points inside the installed ``ivifdata`` package (the bundled sample).
PACKAGE_PREFIX = "package:"

#: Gray conversions a recipe may name (key ``gray``): the rules of ``ivifdata.imageio``.
GRAY_CONVERSIONS = tuple(GRAY_RULES)

#: Largest integer any key may hold (int64), unless its own maximum is lower.
INT64_MAX = 2**63 - 1

#: Largest N: the N**2 pairs of arbitrary pairing must stay within 2**62 (see pair_sampler).
MAX_N = 2**31

#: Largest possible standard deviation of gray levels 0-255 (half the values 0, half 255).
MAX_STD = 127.5

#: Default pairs-per-epoch ratio r (pairs = r * N) per pairing mode, as in the paper.
DEFAULT_RATIO = {"strict": 1.0, "unpaired": 100.0, "arbitrary": 100.0}


class RecipeError(ValueError):
    """A recipe problem. ``problems`` is a list of ``"key: what is wrong"`` strings."""

    def __init__(self, problems: Iterable[str], source: str = "recipe"):
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: " + "; ".join(self.problems))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, int | float)) and not isinstance(v, bool)


def _is_str_or_list(v: Any) -> bool:
    return isinstance(v, str) or (
        isinstance(v, list) and len(v) > 0 and all(isinstance(x, str) for x in v)
    )


#: type name -> (test, wording used in error messages)
TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "str": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "int": (_is_int, "an integer"),
    "number": (_is_number, "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "str_or_list": (_is_str_or_list, "a string or a non-empty list of strings"),
    "n": (lambda v: (_is_int(v)) or v == "all", 'an integer or "all"'),
}


def _bound(value: float) -> str:
    """A limit as written in messages: integers in full with thousands separators."""
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class Field:
    """One recipe key: its type name (in :data:`TYPES`), default, and value constraints."""

    type: str
    default: Any = REQUIRED
    nullable: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    doc: str = ""

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` for this key, or None."""
        if value is None:
            return None if self.nullable else "must be set (it may not be null)"
        test, wording = TYPES[self.type]
        if not test(value):
            return f"must be {wording}, got {type(value).__name__} {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}; got {value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number, got {value!r}"
        if _is_int(value) and abs(value) > INT64_MAX:
            return f"must fit a 64-bit integer (|value| <= 2**63 - 1), got {value}"
        if _is_number(value):
            if self.minimum is not None and value < self.minimum:
                return f"must be >= {_bound(self.minimum)}, got {value!r}"
            if self.maximum is not None and value > self.maximum:
                return f"must be <= {_bound(self.maximum)}, got {value!r}"
        return None


SOURCE_SCHEMA: dict[str, Field] = {
    "root": Field("str", doc="dataset folder; relative to data_dir, or package:sample/..."),
    "layout": Field("str", None, nullable=True, doc="layout name; null = auto-detect"),
    "split": Field("str_or_list", None, nullable=True, doc="split(s) to use; null = all"),
    "dataset": Field("str_or_list", None, nullable=True, doc="dataset name(s); null = all"),
    "match": Field("str", None, nullable=True, doc="glob on the band's path relative to root"),
    "list": Field("str", None, nullable=True, doc="text file of paths relative to root"),
}

SCHEMA: dict[str, Any] = {
    "name": Field("str", doc="build name (goes into the index)"),
    "data_dir": Field("str", ".", doc="base folder of the source roots, relative to the recipe"),
    "ir": SOURCE_SCHEMA,
    "vis": SOURCE_SCHEMA,
    "gray": Field("str", "pil601", choices=GRAY_CONVERSIONS, doc="colour -> gray conversion"),
    "patch": {
        "size": Field("int", 128, minimum=8, maximum=4096, doc="patch side (pixels)"),
        "stride": Field("int", 128, minimum=1, doc="grid step between patches (pixels)"),
        "min_std": Field(
            "number", 0.0, minimum=0.0, maximum=MAX_STD, doc="flat-patch filter, gray levels 0-255"
        ),
    },
    "subset": {
        "n": Field("n", minimum=1, maximum=MAX_N, doc='patches in the bank (N), or "all"'),
        "seed": Field("int", 0, minimum=0, doc="seed of the subset draw"),
    },
    "pairing": {
        "mode": Field("str", choices=tuple(PAIR_SETS), doc="strict, unpaired or arbitrary"),
        "ratio": Field("number", None, nullable=True, minimum=1e-9, doc="pairs per epoch / N"),
        "pairs_per_epoch": Field(
            "int", None, nullable=True, minimum=1, maximum=MAX_PAIRS_PER_EPOCH, doc="absolute count"
        ),
        "epochs": Field("int", 100, minimum=1, doc="epochs the sampler serves"),
        "seed": Field("int", 0, minimum=0, doc="seed of the pair sampler"),
        "overask": Field("str", "repeat", choices=tuple(OVERASK_RULES), doc="over-ask rule"),
    },
    "shards": {
        "samples_per_shard": Field("int", 1000, minimum=1, doc="bank entries per tar shard"),
        "png_compression": Field("int", 1, minimum=0, maximum=9, doc="zlib level of PNGs"),
        "materialize": Field("bool", False, doc="also write explicit pair shards per epoch"),
        "pairs_per_shard": Field("int", 10000, minimum=1, doc="pairs per materialised shard"),
    },
}

#: Keys whose relative paths the recipe file gives relative to its own folder; given on the
#: command line (``--set``, ``--data-dir``) they are relative to the current directory. The
#: source roots (``ir.root``, ``vis.root``) are relative to ``data_dir`` wherever they are set.
PATH_KEYS = ("data_dir", "ir.list", "vis.list")


def _walk(schema: dict[str, Any], data: Any, prefix: str, problems: list[str]) -> dict[str, Any]:
    """Validate ``data`` against ``schema``; return it with defaults filled."""
    if not isinstance(data, dict):
        where = prefix.rstrip(".") or "recipe"
        problems.append(f"{where}: must be a mapping, got {type(data).__name__}")
        return {}
    out: dict[str, Any] = {}
    for key in data:
        if key not in schema:
            known = ", ".join(schema)
            problems.append(f"{prefix}{key}: unknown key (known here: {known})")
    for key, spec in schema.items():
        path = f"{prefix}{key}"
        if isinstance(spec, dict):
            out[key] = _walk(spec, data.get(key, {}), f"{path}.", problems)
            continue
        if key not in data:
            if spec.default is REQUIRED:
                problems.append(f"{path}: required key is missing ({spec.doc})")
                continue
            out[key] = copy.deepcopy(spec.default)
            continue
        problem = spec.problem(data[key])
        if problem:
            problems.append(f"{path}: {problem}")
        out[key] = data[key]
    return out


def _schema_field(dotted: str) -> Field | None:
    node: Any = SCHEMA
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, Field) else None


def parse_override(text: str) -> tuple[str, Any]:
    """``"pairing.mode=unpaired"`` -> ``("pairing.mode", "unpaired")``.

    Values are read as YAML (``12`` is an int, ``true`` a bool); text that is not valid YAML
    (``*.bmp``) is taken as a string.
    """
    if "=" not in text:
        raise RecipeError([f"--set {text!r}: expected KEY=VALUE"], "--set")
    key, raw = text.split("=", 1)
    key = key.strip()
    if _schema_field(key) is None:
        raise RecipeError([f"{key}: unknown key (from --set {text!r})"], "--set")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    if key in PATH_KEYS and isinstance(value, str) and not value.startswith(PACKAGE_PREFIX):
        value = str(Path(value).expanduser().resolve())
    return key, value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of ``data`` with every ``KEY=VALUE`` override set (dotted keys)."""
    data = copy.deepcopy(data)
    for text in overrides:
        key, value = parse_override(text)
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[leaf] = value
    return data


def _cross_checks(r: dict[str, Any]) -> list[str]:
    """Impossible combinations that the file alone shows."""
    problems = []
    pairing = r["pairing"]
    if pairing["ratio"] is not None and pairing["pairs_per_epoch"] is not None:
        problems.append(
            "pairing.pairs_per_epoch: give either pairing.ratio or pairing.pairs_per_epoch, "
            "not both"
        )
    if pairing["mode"] == "strict" and r["ir"] != r["vis"]:
        differing = sorted(k for k in r["ir"] if r["ir"][k] != r["vis"][k])
        problems.append(
            "pairing.mode: strict pairs IR_i with VIS_i and needs aligned pairs of one source, "
            f"but ir and vis differ in {', '.join('vis.' + k for k in differing)}; use "
            "unpaired or arbitrary pairing across datasets"
        )
    if pairing["mode"] == "unpaired" and r["subset"]["n"] == 1:
        problems.append("subset.n: unpaired pairing needs at least 2 patches (i != j)")
    if _is_int(r["subset"]["n"]):
        problem = pairs_per_epoch_problem(pairing, r["subset"]["n"])
        if problem:
            problems.append(problem)
    patch = r["patch"]
    if _is_int(patch["stride"]) and _is_int(patch["size"]) and patch["stride"] > patch["size"]:
        problems.append(
            f"patch.stride: {patch['stride']} is larger than patch.size {patch['size']} "
            "(pixels between patches would never be used)"
        )
    return problems


def pairs_per_epoch(pairing: dict[str, Any], n: int) -> int:
    """Pairs an epoch of the ``pairing`` section asks for with ``n`` patches: absolute, or
    ``max(1, round(ratio * n))``."""
    if pairing["pairs_per_epoch"] is not None:
        return int(pairing["pairs_per_epoch"])
    ratio = pairing["ratio"] if pairing["ratio"] is not None else DEFAULT_RATIO[pairing["mode"]]
    return max(1, round(ratio * n))


def pairs_per_epoch_problem(pairing: dict[str, Any], n: int) -> str | None:
    """The ``pairing.ratio: ...`` problem when ``n`` patches make an epoch of more than 2**62
    pairs (positions the sampler and the loader index as int64), else None."""
    pairs = pairs_per_epoch(pairing, n)
    if pairs <= MAX_PAIRS_PER_EPOCH:
        return None
    return (
        f"pairing.ratio: {pairing['ratio']!r} x N = {n} asks for {pairs:.3g} pairs per epoch; "
        "at most 2**62 (int64 positions)"
    )


def _match_ignoring_case(base: Path, rel: str) -> list[Path]:
    """Existing paths below ``base`` whose components equal those of ``rel`` ignoring case."""
    found = [base]
    for part in Path(rel).parts:
        if part in (".", ".."):
            found = [folder / part for folder in found]
            continue
        found = [
            child
            for folder in found
            for child in _entries(folder)
            if child.name.casefold() == part.casefold()
        ]
    return found


def _entries(folder: Path) -> list[Path]:
    """The entries of ``folder`` (none when it cannot be listed)."""
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


@dataclass(frozen=True)
class Recipe:
    """A validated recipe: ``data`` is the resolved mapping, ``base_dir`` the recipe's folder."""

    data: dict[str, Any]
    base_dir: Path
    source: str

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, dotted: str) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            node = node[part]
        return node

    def resolve_path(self, value: str, base: Path | None = None) -> Path:
        """A recipe path: ``package:...`` inside ivifdata, else relative to ``base``."""
        if value.startswith(PACKAGE_PREFIX):
            return Path(__file__).resolve().parent / value[len(PACKAGE_PREFIX) :]
        path = Path(os.path.expanduser(value))
        return path if path.is_absolute() else (base or self.base_dir) / path

    @property
    def data_dir(self) -> Path:
        return self.resolve_path(self.data["data_dir"]).resolve()

    def source_root(self, band: str) -> Path:
        """The root folder of source ``band`` (``ir`` or ``vis``), relative to ``data_dir``.

        A relative root that does not exist as written is looked up ignoring case below
        ``data_dir`` (``MSRS`` finds ``msrs/``); several folders matching raise RecipeError.
        """
        value = self.data[band]["root"]
        path = self.resolve_path(value, self.data_dir)
        if path.exists() or value.startswith(PACKAGE_PREFIX) or Path(value).is_absolute():
            return path
        found = _match_ignoring_case(self.data_dir, value)
        if len(found) > 1:
            names = ", ".join(str(p.relative_to(self.data_dir)) for p in found)
            raise RecipeError(
                [f"{band}.root: {value!r} matches several folders ignoring case: {names}"],
                self.source,
            )
        return found[0] if found else path

    def pairs_per_epoch(self, n: int) -> int:
        """Pairs an epoch asks for with ``n`` patches: absolute, or ``round(ratio * n)``."""
        return pairs_per_epoch(self.data["pairing"], n)

    def digest(self) -> str:
        """sha256 of the canonical JSON of the resolved recipe (paths as written)."""
        text = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def validate(data: Any, base_dir: Path, source: str = "recipe") -> Recipe:
    """Check a recipe mapping; return the :class:`Recipe` or raise :class:`RecipeError`."""
    problems: list[str] = []
    resolved = _walk(SCHEMA, data, "", problems)
    if not problems:
        problems.extend(_cross_checks(resolved))
    if problems:
        raise RecipeError(problems, source)
    return Recipe(resolved, base_dir, source)


def read_yaml(
    path: Path, what: str, error: Callable[[list[str], str], Exception] = RecipeError
) -> Any:
    """The YAML document in ``path`` (an empty file is ``{}``); an unreadable file or invalid
    YAML raises ``error([problem], str(path))`` naming the ``what`` (recipe, study file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error([f"cannot read the {what} ({exc.strerror})"], str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error([f"not valid YAML ({exc})"], str(path)) from None
    return {} if data is None else data


def load_recipe(
    path: str | Path, overrides: Iterable[str] = (), data_dir: str | Path | None = None
) -> Recipe:
    """Read, override and validate the YAML recipe at ``path``.

    ``data_dir`` (``--data-dir``, relative to the current directory) replaces the recipe's
    ``data_dir`` before the ``--set`` overrides are applied.
    """
    path = Path(path)
    data = read_yaml(path, "recipe", RecipeError)
    if isinstance(data, dict):
        if data_dir is not None:
            data = {**data, "data_dir": str(Path(data_dir).expanduser().resolve())}
        data = apply_overrides(data, overrides)
    return validate(data, path.resolve().parent, str(path))
