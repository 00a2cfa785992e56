"""Strict loading of the paper's released checkpoints (``CNN.model``, ``Trans.model``,
``GAN.model``: plain PyTorch state dicts) into the networks of this package.

The released key names are mapped to this package's module names by an explicit, ordered list
of anchored regular expressions per model. Loading is strict: every released tensor must map to
exactly one tensor of the model, every model tensor must be provided, shapes and dtypes must be
equal. Any violation raises :class:`WeightsError` naming the file and the key.

Where the weights are looked for when no file is given: ``$IVIF_WEIGHTS/<released file name>``
(``IVIF_WEIGHTS`` is a folder). Nothing is ever downloaded.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from pathlib import Path

import torch
from torch import nn

from .names import RELEASED_FILES, TRAIN_CHECKPOINT_FORMAT, WEIGHTS_ENV
from .registry import create_model

_UNET_RENAMES: list[tuple[str, str]] = [
    (r"down_(\d)\.downsampler\.0\.", r"down\1.conv."),
    (r"up_(\d)\.upsampler\.1\.", r"up\1.conv."),
]

_CNN_RENAMES: list[tuple[str, str]] = [
    (r"inchange\.", "stem."),
    (r"fus_(\d)\.linear1\.0\.", r"fuse\1.expand."),
    (r"fus_(\d)\.linear2\.0\.", r"fuse\1.project."),
    (r"fus_(\d)\.eca\.conv\.", r"fuse\1.gate.conv."),
    (r"dense_(\d)\.dense_block\.(\d)\.change\.", r"dense\1.layers.\2.body."),
    *_UNET_RENAMES,
    (r"outchange\.", "head."),
]

_ENC = r"trans_(\d)\.transformer_layers\.0\."
_TRANSFORMER_RENAMES: list[tuple[str, str]] = [
    (r"proj\.", "stem."),
    (r"fuse_(\d)\.linear1\.0\.", r"fuse\1.expand."),
    (r"fuse_(\d)\.linear2\.0\.", r"fuse\1.project."),
    (r"fuse_(\d)\.eca\.conv\.", r"fuse\1.gate."),
    (_ENC + r"attn\.norm\.", r"enc\1.attn_norm."),
    (_ENC + r"attn\.fn\.t$", r"enc\1.attn.temperature"),
    (_ENC + r"attn\.fn\.group_qkv\.", r"enc\1.attn.qkv."),
    (_ENC + r"attn\.fn\.group_fus\.", r"enc\1.attn.out."),
    (_ENC + r"ff\.norm\.", r"enc\1.ff_norm."),
    (_ENC + r"ff\.fn\.net\.0\.", r"enc\1.ff.0."),
    (_ENC + r"ff\.fn\.net\.3\.", r"enc\1.ff.2."),
    *_UNET_RENAMES,
    (r"final\.", "head."),
]

#: Released-key -> module-key rules per model (each rule is anchored at the key start).
RENAMES: dict[str, list[tuple[str, str]]] = {
    "cnn": _CNN_RENAMES,
    "transformer": _TRANSFORMER_RENAMES,
    "gan": _CNN_RENAMES,
}


class WeightsError(ValueError):
    """A checkpoint does not fit a model; ``str()`` names the file and the key."""


def map_key(key: str, rules: list[tuple[str, str]], source: str) -> str:
    """Rename one released key with the single rule that matches its start."""
    hits = [(pat, rep) for pat, rep in rules if re.match(pat, key)]
    if len(hits) != 1:
        why = "no mapping rule matches" if not hits else f"{len(hits)} mapping rules match"
        raise WeightsError(f"{source}: key {key!r}: {why}")
    pat, rep = hits[0]
    return re.sub("^" + pat, rep, key, count=1)


def load_state(
    model: nn.Module, state: dict[str, torch.Tensor], rules: list[tuple[str, str]], source: str
) -> None:
    """Copy ``state`` (released names) into ``model`` strictly; see the module docstring."""
    target = model.state_dict()
    mapped: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            raise WeightsError(f"{source}: key {key!r} is not a tensor ({type(tensor).__name__})")
        new = map_key(key, rules, source)
        if new in mapped:
            raise WeightsError(f"{source}: key {key!r} maps to {new!r}, already filled")
        if new not in target:
            raise WeightsError(f"{source}: key {key!r} (-> {new!r}) is not a tensor of the model")
        want = target[new]
        if tensor.shape != want.shape or tensor.dtype != want.dtype:
            raise WeightsError(
                f"{source}: key {key!r}: checkpoint has {tuple(tensor.shape)} {tensor.dtype}, "
                f"model {new!r} needs {tuple(want.shape)} {want.dtype}"
            )
        if new.endswith(".mask") and not torch.equal(tensor, want):  # fixed band buffers
            raise WeightsError(f"{source}: key {key!r}: stored mask is not the band |i-j| <= 1")
        mapped[new] = tensor
    missing = sorted(set(target) - set(mapped))
    if missing:
        raise WeightsError(f"{source}: no tensor for model key(s) {', '.join(missing)}")
    model.load_state_dict(mapped, strict=True)


_GROUP = r"(\d)"


def invert_rule(pattern: str, replacement: str) -> tuple[str, str]:
    """The module-key -> released-key rule undoing ``(pattern, replacement)``.

    Rules are built from literal text, escaped dots, ``(\\d)`` groups (used in order by the
    replacement) and an optional final ``$``; anything else raises ValueError.
    """
    anchored = pattern.endswith("$")
    body = pattern.removesuffix("$")
    pieces = re.split(r"(\(\\d\))", body)
    groups = pieces[1::2]
    literals = [piece.replace(r"\.", ".") for piece in pieces[0::2]]
    if any("\\" in text or re.search(r"[()\[\]*+?$^|]", text) for text in literals):
        raise ValueError(f"cannot invert rule {pattern!r}")
    back_pieces = re.split(r"\\(\d)", replacement)
    order = [int(n) for n in back_pieces[1::2]]
    if order != list(range(1, len(groups) + 1)):
        raise ValueError(f"cannot invert rule {pattern!r} -> {replacement!r}: group order")
    inverse_pattern = _GROUP.join(re.escape(text) for text in back_pieces[0::2])
    inverse_replacement = "".join(
        text + (f"\\{n}" if n <= len(groups) else "") for n, text in enumerate(literals, start=1)
    )
    return inverse_pattern + ("$" if anchored else ""), inverse_replacement


def to_released(name: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict of model ``name`` (this package's keys) renamed to the released layout, so
    that :func:`load_released` reads it back (e.g. a trained ``model.pt``)."""
    if name not in RENAMES:
        raise WeightsError(
            f"model {name!r} has no released layout; choose from {', '.join(RENAMES)}"
        )
    rules = [invert_rule(pattern, replacement) for pattern, replacement in RENAMES[name]]
    return {map_key(key, rules, f"{name} state"): tensor for key, tensor in state.items()}


def _unreadable_reason(path: Path, exc: Exception) -> str:
    """One short line saying why ``torch.load`` failed on ``path`` (torch's own text is long)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head:
        return "the file is empty"
    archive, legacy = head == b"PK\x03\x04", head[:1] == b"\x80"
    if not (archive or legacy):
        return "neither a PyTorch zip archive nor a pickle"
    if isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in str(exc):
        return "it holds Python objects other than tensors, refused by weights_only loading"
    if archive:
        return "a zip archive torch cannot read (damaged, truncated or not from torch.save)"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"a damaged pickle: {first if len(first) <= 80 else first[:77] + '...'}"


def load_torch_file(path: str | Path) -> object:
    """``torch.load(path, weights_only=True)`` on CPU; WeightsError with one line naming the
    file and the reason when it is missing or not a readable checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. pickle protocol notes on foreign files
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a non-checkpoint file
        reason = _unreadable_reason(path, exc)
        raise WeightsError(f"{path}: not a readable PyTorch state dict ({reason})") from None


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a plain state dict with ``torch.load(weights_only=True)``; a training checkpoint
    (``last.pt``) is refused with a pointer to its ``model.pt``."""
    state = load_torch_file(path)
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(state).__name__}")
    if state.get("format") == TRAIN_CHECKPOINT_FORMAT:
        raise WeightsError(
            f"{path}: this is a training checkpoint (last.pt of ivifmodels train): use model.pt "
            "from the same folder"
        )
    return state


def _fits(state: dict[str, torch.Tensor], name: str) -> bool:
    """Whether ``state`` (released key layout) loads strictly into model ``name``."""
    try:
        load_state(create_model(name), state, RENAMES[name], name)
    except WeightsError:
        return False
    return True


def diagnose(state: dict[str, torch.Tensor], name: str, source: str) -> str | None:
    """Which model a checkpoint that does not fit ``name`` belongs to, as an error message
    (None when it is not recognised)."""
    owners = [other for other in RENAMES if other != name and _fits(state, other)]
    if owners:
        files = " / ".join(RELEASED_FILES[o] for o in owners)
        return (
            f"{source}: this checkpoint is for {' or '.join(owners)} (the keys of {files}), "
            f"not {name}: pass {' or '.join(f'--model {o}' for o in owners)}"
        )
    own = [other for other in RENAMES if set(state) == set(create_model(other).state_dict())]
    if own:
        return (
            f"{source}: this is a state_dict() of a {'/'.join(own)} network in ivifmodels' own "
            "key layout; save it with ivifmodels.weights.to_released (as model.pt is)"
        )
    return None


def default_weights_path(name: str) -> Path:
    """``$IVIF_WEIGHTS/<released file>`` for ``name``; WeightsError if it cannot be found."""
    if name not in RELEASED_FILES:
        raise WeightsError(f"model {name!r} has no released weights")
    folder = os.environ.get(WEIGHTS_ENV)
    if not folder:
        raise WeightsError(
            f"no weights for {name!r}: pass a file or set {WEIGHTS_ENV} to the folder holding "
            f"{RELEASED_FILES[name]}"
        )
    return Path(folder) / RELEASED_FILES[name]


def load_released(
    name: str, weights: str | Path | None = None, device: str | torch.device = "cpu"
) -> nn.Module:
    """Build model ``name`` and load its released checkpoint strictly; returns it in eval mode.

    ``weights`` is the checkpoint file; None looks in ``$IVIF_WEIGHTS`` (see module docstring).
    """
    if name not in RENAMES:
        choices = ", ".join(RENAMES)
        raise WeightsError(f"model {name!r} has no released weights; choose from {choices}")
    path = Path(weights) if weights is not None else default_weights_path(name)
    model = create_model(name)
    state = read_checkpoint(path)
    try:
        load_state(model, state, RENAMES[name], str(path))
    except WeightsError as exc:
        raise WeightsError(diagnose(state, name, str(path)) or str(exc)) from None
    return model.eval().to(device)
