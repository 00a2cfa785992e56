"""``ivifbench report --plots`` and ``--stats``: box plots and cumulative distributions per
metric, qualitative grids, critical-difference diagrams, as PNG.

Uses matplotlib's object-oriented API (``Figure`` + Agg canvas): no display, no global backend
switch. Every PNG is written to a temporary file and renamed into place.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ivifbench.report import MetricSpec
from ivifdata.atomic import atomic_path
from ivifdata.imageio import ImageReadError, read_image

if TYPE_CHECKING:
    from ivifbench.stats import Comparison

#: Resolution of the written PNGs (dots per inch).
DPI = 120
#: Width of one panel of the qualitative grid, inches.
PANEL_INCHES = 2.2
#: Height of one row of the grid, inches: a 4:3 image and its title.
ROW_INCHES = 0.75 * PANEL_INCHES + 0.3
#: Panels per row of the qualitative grid; an image's IR | VIS | methods wrap onto more rows.
GRID_COLUMNS = 5


def safe_name(text: str) -> str:
    """``text`` with every character outside [A-Za-z0-9._-] replaced by '_' (for file names)."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text)


def save_png(figure: Figure, path: Path) -> Path:
    """Write ``figure`` to ``path`` (PNG, :data:`DPI`) atomically (``ivifdata.atomic``)."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=DPI, format="png")
    return path


def finite(values: np.ndarray) -> np.ndarray:
    """The finite entries of ``values`` (NaN and infinities are not drawn)."""
    return values[np.isfinite(values)]


def box_plot(
    table: pd.DataFrame, metric: MetricSpec, methods: Sequence[str], convention: str, path: Path
) -> Path:
    """One PNG for ``metric``: a panel per dataset, a box per method over its images."""
    datasets = list(dict.fromkeys(table["dataset"]))
    figure = Figure(figsize=(max(4.0, 1.0 + 0.9 * len(methods)) * len(datasets), 3.6))
    axes = figure.subplots(1, len(datasets), squeeze=False)[0]
    unit = f" ({metric.short_unit})" if metric.short_unit else ""
    for ax, dataset in zip(axes, datasets, strict=True):
        rows = table[table["dataset"] == dataset]
        present = [m for m in methods if (rows["method"] == m).any()]
        data = [finite(rows.loc[rows["method"] == m, metric.name].to_numpy()) for m in present]
        ax.boxplot(data)
        ax.set_xticks(range(1, len(present) + 1), present)
        ax.set_title(dataset)
        ax.tick_params(axis="x", labelrotation=30)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(f"{metric.name}{unit} {metric.arrow}")
    figure.suptitle(f"{metric.name} per image, convention {convention}")
    figure.tight_layout()
    return save_png(figure, path)


def cdf_plot(
    table: pd.DataFrame, metric: MetricSpec, methods: Sequence[str], convention: str, path: Path
) -> Path:
    """One PNG for ``metric``: a panel per dataset, the empirical cumulative distribution of the
    per-image values of each method (a step line: fraction of images with value <= x)."""
    datasets = list(dict.fromkeys(table["dataset"]))
    figure = Figure(figsize=(4.2 * len(datasets), 3.6))
    axes = figure.subplots(1, len(datasets), squeeze=False)[0]
    unit = f" ({metric.short_unit})" if metric.short_unit else ""
    colours = {method: f"C{i % 10}" for i, method in enumerate(methods)}  # same in every panel
    for ax, dataset in zip(axes, datasets, strict=True):
        rows = table[table["dataset"] == dataset]
        for method in methods:
            values = np.sort(finite(rows.loc[rows["method"] == method, metric.name].to_numpy()))
            if len(values):
                fraction = np.arange(len(values) + 1) / len(values)  # 0 before the smallest
                x = np.concatenate([values[:1], values])
                ax.step(x, fraction, where="post", label=method, color=colours[method])
        ax.legend(fontsize=7)
        ax.set_title(dataset)
        ax.set_xlabel(f"{metric.name}{unit} {metric.arrow}")
        ax.set_ylim(0.0, 1.0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("fraction of images \u2264 x")
    figure.suptitle(f"{metric.name}: cumulative distribution over images, convention {convention}")
    figure.tight_layout()
    return save_png(figure, path)


def write_cdf_plots(
    table: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    methods: Sequence[str],
    convention: str,
    outdir: Path,
) -> list[Path]:
    """``cdf_<metric>.png`` in ``outdir`` for every metric (:func:`cdf_plot`)."""
    outdir.mkdir(parents=True, exist_ok=True)
    return [
        cdf_plot(table, m, methods, convention, outdir / f"cdf_{safe_name(m.name)}.png")
        for m in metrics
    ]


def cd_diagram(comparison: Comparison, alpha: float, posthoc: str, path: Path) -> Path:
    """Critical-difference diagram of one (dataset, metric): average ranks on an axis (1 = best),
    methods joined by a bar when the post-hoc test finds no difference at ``alpha``
    (``scikit_posthocs.critical_difference_diagram``)."""
    import scikit_posthocs as sp

    figure = Figure(figsize=(6.0, 0.9 + 0.28 * len(comparison.ranks)))
    ax = figure.subplots()
    sp.critical_difference_diagram(comparison.ranks, comparison.pvalues, ax=ax, alpha=alpha)
    cd = (
        f", CD {comparison.critical_difference:.2f}"
        if np.isfinite(comparison.critical_difference)
        else ""
    )
    ax.set_title(
        f"{comparison.dataset}: {comparison.metric} average rank over {comparison.images} images "
        f"(Friedman p = {comparison.p_value:.3g}; {posthoc}, alpha {alpha}{cd})",
        fontsize=8,
    )
    figure.tight_layout()
    return save_png(figure, path)


def _show(ax, path: Path | None, title: str) -> None:
    """Draw the image at ``path`` (gray or RGB) on ``ax``, or say why it cannot."""
    ax.set_axis_off()
    ax.set_title(title, fontsize=8)
    if path is None:
        ax.text(0.5, 0.5, "no image", ha="center", va="center", transform=ax.transAxes)
        return
    try:
        image = read_image(path, to_8bit=True)
    except ImageReadError as exc:
        ax.text(
            0.5,
            0.5,
            exc.reason,
            ha="center",
            va="center",
            wrap=True,
            fontsize=7,
            transform=ax.transAxes,
        )
        return
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(image)


def _file(rows: pd.DataFrame, column: str) -> Path | None:
    """The file of the first row, resolved against the folder of the table it came from."""
    if rows.empty:
        return None
    row = rows.iloc[0]
    return (Path(row["table_dir"]) / row[column]).resolve()


def grid_shape(panels: int, columns: int = GRID_COLUMNS) -> tuple[int, int]:
    """(rows, columns) holding ``panels`` panels of one image, at most ``columns`` per row."""
    width = max(1, min(panels, columns))
    return -(-panels // width), width


def qualitative_grid(
    table: pd.DataFrame, dataset: str, images: Sequence[str], methods: Sequence[str], path: Path
) -> Path:
    """One PNG: per image of ``dataset`` its panels IR | VIS | each method, in rows of at most
    :data:`GRID_COLUMNS` panels (an image with many methods takes several rows)."""
    rows = table[table["dataset"] == dataset]
    per_image, columns = grid_shape(len(methods) + 2)
    figure = Figure(figsize=(PANEL_INCHES * columns, ROW_INCHES * per_image * len(images) + 0.5))
    axes = figure.subplots(per_image * len(images), columns, squeeze=False)
    for r, image in enumerate(images):
        of_image = rows[rows["image"] == image]
        panels = [
            (_file(of_image, "ir_file"), f"{image}: IR"),
            (_file(of_image, "vis_file"), "VIS"),
        ]
        panels += [
            (_file(of_image[of_image["method"] == method], "fused_file"), method)
            for method in methods
        ]
        cells = [axes[r * per_image + i // columns, i % columns] for i in range(len(panels))]
        for ax, (file, title) in zip(cells, panels, strict=True):
            _show(ax, file, title)
        for i in range(len(panels), per_image * columns):  # the unused end of the last row
            axes[r * per_image + i // columns, i % columns].set_axis_off()
    figure.suptitle(dataset)
    figure.tight_layout()
    return save_png(figure, path)


def default_grid_images(table: pd.DataFrame, dataset: str) -> list[str]:
    """The first image (by name) of ``dataset``."""
    names = sorted(set(table.loc[table["dataset"] == dataset, "image"]))
    return names[:1]


def write_plots(
    table: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    methods: Sequence[str],
    convention: str,
    outdir: Path,
    images: Sequence[str] | None = None,
) -> list[Path]:
    """Box plots (``box_<metric>.png``) and grids (``grid_<dataset>.png``) in ``outdir``.

    ``images``: stems shown in the grids (those a dataset lacks are left out; a dataset with
    none of them gets no grid); default: the first image of each dataset.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    table = table[table["method"].isin(methods)]
    written = [
        box_plot(table, m, methods, convention, outdir / f"box_{safe_name(m.name)}.png")
        for m in metrics
    ]
    for dataset in dict.fromkeys(table["dataset"]):
        available = set(table.loc[table["dataset"] == dataset, "image"])
        chosen = (
            default_grid_images(table, dataset)
            if images is None
            else [i for i in images if i in available]
        )
        present = set(table.loc[table["dataset"] == dataset, "method"])
        if chosen:
            path = outdir / f"grid_{safe_name(dataset)}.png"
            shown = [m for m in methods if m in present]
            written.append(qualitative_grid(table, dataset, chosen, shown, path))
    return written
