"""``compute``: the metric values of one fusion triple under one convention."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable

import numpy as np

from ivifbench.conventions import DEFAULT_CONVENTION, Convention, MetricImpl, get_convention
from ivifbench.errors import DegenerateMetricWarning, MetricInputError
from ivifbench.inputs import Triple, load_triple
from ivifbench.metrics import kernels
from ivifbench.registry import METRICS

ImageSource = str | os.PathLike | np.ndarray
#: (fused, ir, vis) float64 planes of one channel.
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


def resolve_metrics(convention: Convention, metrics: str | Iterable[str] | None) -> list[str]:
    """Canonical names to compute: the convention's defaults for ``None``; otherwise the given
    names (a list or a comma-separated string, matched case-insensitively), duplicates dropped."""
    if metrics is None:
        names = list(convention.default_metrics)
    else:
        requested = metrics.split(",") if isinstance(metrics, str) else list(metrics)
        by_lower = {name.lower(): name for name in METRICS}
        names = []
        for raw in filter(None, (str(item).strip() for item in requested)):
            name = by_lower.get(raw.lower())
            if name is None:
                raise MetricInputError(
                    f"metrics: unknown metric {raw!r} (known: {', '.join(METRICS)})"
                )
            if name not in names:
                names.append(name)
        if not names:
            raise MetricInputError("metrics: no metric given")
    missing = [name for name in names if name not in convention.implementations]
    if missing:
        available = ", ".join(convention.implementations)
        raise MetricInputError(
            f"metrics: {', '.join(missing)} not available under convention "
            f"{convention.name!r} in this version (available: {available})"
        )
    return names


def _check_min_size(triple: Triple, convention: Convention, names: list[str]) -> None:
    height, width = triple.fused.size
    too_small = [
        f"{name} needs at least {impl.min_side}x{impl.min_side}"
        for name in names
        if min(height, width) < (impl := convention.implementations[name]).min_side
    ]
    if too_small:
        raise MetricInputError(
            f"{triple.fused.label}: image is {height}x{width} pixels; {'; '.join(too_small)}"
        )


def _plane(pixels: np.ndarray, name: str, *, source: bool = False) -> np.ndarray:
    """A C-contiguous float64 copy of ``pixels`` (results then do not depend on the caller's
    memory layout) in this thread's workspace buffer ``name``: a fused image's planes live
    for one :func:`compute` call. ``source`` planes, which a :func:`kernels.shared_sources`
    block keeps, are lent to the block (:func:`kernels.kept_array`)."""
    if source:
        out = kernels.kept_array(f"plane {name}", pixels.shape)
    else:
        out = kernels.workspace(f"plane {name}", pixels.shape)
    out[...] = pixels
    return out


def _channel_planes(convention: Convention, triple: Triple, with_sources: bool) -> list[Planes]:
    """Per-channel float64 (fused, ir, vis) planes in 0-255 units; without ``with_sources``
    (only metrics of the fused image asked) the source entries are the sources' pixels, not
    converted (about 0.06 ms per plane saved).

    Gray conventions convert every colour image with ``to_gray`` and give one plane triple.
    ``vifb`` gives one triple per fused channel: with a colour fused image the VIS image must be
    colour (VIFB indexes VIS_k) and a gray IR is shared by all channels; with a gray fused
    image both sources must be gray (VIFB would mix conversions inside its metric functions).
    The source planes are made once per source pair inside :func:`kernels.shared_sources`.
    """
    fused, ir, vis = triple.images()
    if convention.to_gray is not None:
        to_gray = convention.to_gray
        fused_planes = [_plane(to_gray(fused.pixels) if fused.is_colour else fused.pixels, "fused")]

        def source_planes() -> list[tuple[np.ndarray, np.ndarray]]:
            ir_p, vis_p = (
                _plane(to_gray(im.pixels) if im.is_colour else im.pixels, name, source=True)
                for im, name in ((ir, "ir"), (vis, "vis"))
            )
            return [(ir_p, vis_p)]

    elif not fused.is_colour:
        colour = [im.label for im in (ir, vis) if im.is_colour]
        if colour:
            raise MetricInputError(
                f"{', '.join(colour)}: colour source with a gray fused image; the vifb "
                "convention evaluates channel by channel, so give a colour fused image or "
                "gray sources"
            )
        fused_planes = [_plane(fused.pixels, "fused")]

        def source_planes() -> list[tuple[np.ndarray, np.ndarray]]:
            return [(_plane(ir.pixels, "ir", source=True), _plane(vis.pixels, "vis", source=True))]

    else:
        if not vis.is_colour:
            raise MetricInputError(
                f"{vis.label}: gray VIS with a colour fused image; the vifb convention computes "
                "metric(VIS_k, IR, F_k) per channel k and needs a colour VIS image"
            )
        fused_planes = [_plane(fused.pixels[..., k], f"fused {k}") for k in range(3)]

        def source_planes() -> list[tuple[np.ndarray, np.ndarray]]:
            return [
                (
                    _plane(
                        ir.pixels[..., k] if ir.is_colour else ir.pixels, f"ir {k}", source=True
                    ),
                    _plane(vis.pixels[..., k], f"vis {k}", source=True),
                )
                for k in range(3)
            ]

    if with_sources:
        key = (
            "planes",
            convention.name,
            len(fused_planes),
            *map(kernels.array_key, (ir.pixels, vis.pixels)),
        )
        sources = kernels.shared(key, (ir.pixels, vis.pixels), source_planes)
        ir_planes, vis_planes = [pair[0] for pair in sources], [pair[1] for pair in sources]
        made = [(fused, fused_planes), (ir, ir_planes), (vis, vis_planes)]
    else:  # the metrics read the fused planes only: the sources' pixels stand in
        ir_planes, vis_planes = [ir.pixels] * len(fused_planes), [vis.pixels] * len(fused_planes)
        made = [(fused, fused_planes)]
    for image, planes in made:
        kernels.mark_grey_levels(*planes)
        if not image.is_colour:  # the planes are copies of these pixels
            for plane in planes:
                kernels.mark_grey_pixels(plane, image.pixels)
    return list(zip(fused_planes, ir_planes, vis_planes, strict=True))


def _evaluate(impl: MetricImpl, planes: list[Planes]) -> float:
    if len(planes) > 1 and impl.colour_layout == "side_by_side":
        side_by_side = np.concatenate([fused for fused, _, _ in planes], axis=1)
        return float(impl(side_by_side, planes[0][1], planes[0][2]))
    values = [impl(*p) for p in planes]
    return float(values[0] if len(values) == 1 else sum(values) / len(values))


def degenerate_message(name: str, convention: str, value: float, label: str) -> str:
    """The warning for a non-finite metric value (NaN or inf) of the fused image ``label``."""
    why = "infinite (zero error)" if math.isinf(value) else "undefined (0/0)"
    return (
        f"{name} ({convention}) is {value} for {label}: {why} for this input, as in the "
        "reference toolbox"
    )


def compute(
    fused: ImageSource,
    ir: ImageSource,
    vis: ImageSource,
    metrics: str | Iterable[str] | None = None,
    convention: str = DEFAULT_CONVENTION,
) -> dict[str, float]:
    """Metric values of a fusion triple, ``{canonical name: value}`` in the requested order.

    ``fused``, ``ir``, ``vis``: file paths or uint8 arrays, ``(H, W)`` or ``(H, W, 3)`` RGB.
    ``metrics``: canonical names (list or ``"EN,SD"``); ``None`` = the convention's defaults.
    ``convention``: ``cddfuse`` (default), ``tang`` or ``vifb`` (see
    :mod:`ivifbench.conventions`). A value that is undefined for the input (e.g. CC of a
    constant fused image) is NaN, exactly where the toolbox gives NaN, and a
    :class:`DegenerateMetricWarning` names it. Bad input raises :class:`MetricInputError`.
    """
    conv = get_convention(convention)
    names = resolve_metrics(conv, metrics)
    triple = load_triple(fused, ir, vis)
    _check_min_size(triple, conv, names)
    results: dict[str, float] = {}
    with kernels.one_call():
        with_sources = any(conv.implementations[name].uses_sources for name in names)
        planes = _channel_planes(conv, triple, with_sources)
        for name in names:
            with np.errstate(all="ignore"):
                results[name] = _evaluate(conv.implementations[name], planes)
    for name, value in results.items():
        if not math.isfinite(value):
            warnings.warn(
                degenerate_message(name, conv.name, value, triple.fused.label),
                DegenerateMetricWarning,
                stacklevel=2,
            )
    return results
