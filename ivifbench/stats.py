"""``ivifbench report --stats``: is method A really better than B?

For each dataset and metric, the images are the blocks and the methods the treatments
(Demšar, JMLR 7, 2006): the per-image values are ranked across methods (rank 1 = best in the
metric's direction, ties share the mean rank), the Friedman test asks whether the methods'
average ranks differ, and a post-hoc test compares every pair of methods:

- ``nemenyi``: Nemenyi's test on the Friedman ranks (``scikit_posthocs.posthoc_nemenyi_friedman``;
  family-wise by construction), with the critical difference
  ``CD = q_alpha / sqrt(2) * sqrt(k (k + 1) / (6 N))`` of the diagram;
- ``wilcoxon-holm``: Wilcoxon signed-rank test of every pair (``scikit_posthocs.posthoc_wilcoxon``,
  zero differences discarded), p-values adjusted by Holm's step-down method.

Only images where every method has a value take part (the others are counted as dropped); the
tests need at least 3 methods and 2 such images. The computations are the libraries' (scipy,
scikit-posthocs); this module arranges the data and the outputs.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats as scipy_stats

from ivifbench.report import MetricSpec, write_text_atomic

#: Post-hoc tests: name -> description written into the outputs.
POSTHOC_TESTS = {
    "nemenyi": "Nemenyi test on the Friedman ranks (scikit-posthocs posthoc_nemenyi_friedman)",
    "wilcoxon-holm": "Wilcoxon signed-rank test per pair (scikit-posthocs posthoc_wilcoxon, "
    "zero differences discarded), Holm step-down adjustment",
}
#: Fewest methods and complete images the Friedman test is run on.
MIN_METHODS, MIN_IMAGES = 3, 2
#: Files written by :func:`write_stats` (plus ``cd_<dataset>_<metric>.png`` diagrams).
STATS_FILES = ("stats.csv", "posthoc.csv", "stats.md", "stats.json")


@dataclass(frozen=True)
class Comparison:
    """Friedman test and post-hoc comparisons of one (dataset, metric).

    ``ranks``: average rank per method (1 = best). ``pvalues``: symmetric method x method matrix
    of post-hoc p-values (adjusted for ``wilcoxon-holm``). ``critical_difference``: in ranks, for
    ``nemenyi`` only (NaN otherwise).
    """

    dataset: str
    metric: str
    images: int
    dropped: int
    ranks: pd.Series
    statistic: float
    p_value: float
    pvalues: pd.DataFrame
    critical_difference: float


def block_matrix(
    table: pd.DataFrame, dataset: str, metric: str, methods: Sequence[str]
) -> tuple[pd.DataFrame, int]:
    """Images x methods values of ``metric`` in ``dataset``; images lacking a method's value
    (missing row or NaN) are dropped. Returns (matrix in ``methods`` order, images dropped)."""
    rows = table[(table["dataset"] == dataset) & table["method"].isin(list(methods))]
    wide = rows.pivot(index="image", columns="method", values=metric)
    wide = wide.reindex(columns=[m for m in methods if m in wide.columns])
    complete = wide.dropna()
    return complete, len(wide) - len(complete)


def average_ranks(matrix: pd.DataFrame, direction: str) -> pd.Series:
    """Mean over images of each method's rank (1 = best in ``direction``, ties averaged)."""
    oriented = -matrix.to_numpy() if direction == "higher" else matrix.to_numpy()
    ranks = scipy_stats.rankdata(oriented, axis=1)
    return pd.Series(ranks.mean(axis=0), index=matrix.columns, name="average_rank")


def critical_difference(methods: int, images: int, alpha: float) -> float:
    """Nemenyi critical difference of average ranks (Demšar 2006), from the studentized range."""
    q = scipy_stats.studentized_range.ppf(1.0 - alpha, methods, np.inf) / math.sqrt(2.0)
    return float(q * math.sqrt(methods * (methods + 1) / (6.0 * images)))


def posthoc_pvalues(matrix: pd.DataFrame, posthoc: str) -> pd.DataFrame:
    """Method x method p-values of the post-hoc test ``posthoc`` on the images x methods data."""
    if posthoc == "nemenyi":
        result = sp.posthoc_nemenyi_friedman(matrix.to_numpy())
    elif posthoc == "wilcoxon-holm":
        long = matrix.melt(var_name="method", value_name="value")
        with warnings.catch_warnings():
            # a pair without any non-zero difference makes scipy divide 0 by 0 (RuntimeWarning);
            # scikit-posthocs then reports p = 1 for it, which is the right answer
            warnings.simplefilter("ignore", RuntimeWarning)
            result = sp.posthoc_wilcoxon(
                long, val_col="value", group_col="method", p_adjust="holm", sort=False
            )
    else:
        raise ValueError(f"unknown post-hoc test {posthoc!r} ({', '.join(POSTHOC_TESTS)})")
    return pd.DataFrame(result.to_numpy(), index=matrix.columns, columns=matrix.columns)


def compare(
    matrix: pd.DataFrame,
    metric: MetricSpec,
    dataset: str,
    dropped: int,
    posthoc: str,
    alpha: float,
) -> Comparison:
    """Friedman test, average ranks and post-hoc p-values of one images x methods matrix."""
    friedman = scipy_stats.friedmanchisquare(*(matrix[m].to_numpy() for m in matrix.columns))
    k, n = matrix.shape[1], matrix.shape[0]
    return Comparison(
        dataset=dataset,
        metric=metric.name,
        images=n,
        dropped=dropped,
        ranks=average_ranks(matrix, metric.direction),
        statistic=float(friedman.statistic),
        p_value=float(friedman.pvalue),
        pvalues=posthoc_pvalues(matrix, posthoc),
        critical_difference=critical_difference(k, n, alpha) if posthoc == "nemenyi" else np.nan,
    )


def compare_all(
    table: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    methods: Sequence[str],
    posthoc: str = "nemenyi",
    alpha: float = 0.05,
) -> tuple[list[Comparison], list[dict[str, object]]]:
    """Every (dataset, metric) comparison; blocks too small to test are returned as
    ``{"dataset", "metric", "reason"}`` records instead."""
    done, skipped = [], []
    for dataset in dict.fromkeys(table["dataset"]):
        for metric in metrics:
            matrix, dropped = block_matrix(table, dataset, metric.name, methods)
            k, n = matrix.shape[1], matrix.shape[0]
            reason = ""
            if k < MIN_METHODS or n < MIN_IMAGES:
                reason = (
                    f"{k} method(s) and {n} image(s) with values of every method; the Friedman "
                    f"test needs at least {MIN_METHODS} methods and {MIN_IMAGES} images"
                )
            elif (matrix.nunique(axis=1) == 1).all():
                reason = "all methods tie on every image: the ranks do not differ"
            if reason:
                skipped.append({"dataset": dataset, "metric": metric.name, "reason": reason})
                continue
            done.append(compare(matrix, metric, dataset, dropped, posthoc, alpha))
    return done, skipped


def ranks_frame(comparisons: Sequence[Comparison]) -> pd.DataFrame:
    """Long table: dataset, metric, method, average rank, images, Friedman statistic and p, CD."""
    records = [
        {
            "dataset": c.dataset,
            "metric": c.metric,
            "method": method,
            "average_rank": rank,
            "images": c.images,
            "images_dropped": c.dropped,
            "friedman_chi2": c.statistic,
            "friedman_p": c.p_value,
            "critical_difference": c.critical_difference,
        }
        for c in comparisons
        for method, rank in c.ranks.items()
    ]
    columns = [
        "dataset",
        "metric",
        "method",
        "average_rank",
        "images",
        "images_dropped",
        "friedman_chi2",
        "friedman_p",
        "critical_difference",
    ]
    return pd.DataFrame(records, columns=columns)


def pairs_frame(comparisons: Sequence[Comparison], alpha: float) -> pd.DataFrame:
    """Long table of every method pair (in method order): p-value and whether p < alpha."""
    records = []
    for c in comparisons:
        names = list(c.pvalues.index)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                p = float(c.pvalues.loc[a, b])
                records.append(
                    {
                        "dataset": c.dataset,
                        "metric": c.metric,
                        "method_a": a,
                        "method_b": b,
                        "p_value": p,
                        "significant": p < alpha,
                    }
                )
    columns = ["dataset", "metric", "method_a", "method_b", "p_value", "significant"]
    return pd.DataFrame(records, columns=columns)


def render_stats_markdown(
    comparisons: Sequence[Comparison], posthoc: str, alpha: float, decimals: int = 2
) -> str:
    """Per dataset, a table of average ranks (methods x metrics) and the Friedman p-values."""
    lines = [
        "Average rank over images (1 = best in the metric's direction); Friedman test over "
        f"methods with images as blocks; post-hoc: {POSTHOC_TESTS[posthoc]}, alpha {alpha} "
        "(pairs in posthoc.csv).",
    ]
    for dataset in dict.fromkeys(c.dataset for c in comparisons):
        block = [c for c in comparisons if c.dataset == dataset]
        methods = list(dict.fromkeys(m for c in block for m in c.ranks.index))
        lines += ["", f"**{dataset}**", ""]
        lines.append("| Method | " + " | ".join(c.metric for c in block) + " |")
        lines.append("|:---|" + "---:|" * len(block))
        for method in methods:
            cells = [
                f"{c.ranks[method]:.{decimals}f}" if method in c.ranks else "\u2013" for c in block
            ]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("| Friedman p | " + " | ".join(f"{c.p_value:.3g}" for c in block) + " |")
        if posthoc == "nemenyi":
            cds = " | ".join(f"{c.critical_difference:.{decimals}f}" for c in block)
            lines.append(f"| CD (alpha {alpha}) | {cds} |")
    return "\n".join(lines) + "\n"


def write_stats(
    table: pd.DataFrame,
    metrics: Sequence[MetricSpec],
    methods: Sequence[str],
    outdir: Path,
    posthoc: str = "nemenyi",
    alpha: float = 0.05,
    diagrams: bool = True,
) -> list[Path]:
    """Compute every comparison and write ``stats.csv``, ``posthoc.csv``, ``stats.md``,
    ``stats.json`` and (``diagrams``) one critical-difference diagram per comparison."""
    comparisons, skipped = compare_all(table, metrics, methods, posthoc, alpha)
    outdir.mkdir(parents=True, exist_ok=True)
    documents = {
        "stats.csv": ranks_frame(comparisons).to_csv(index=False),
        "posthoc.csv": pairs_frame(comparisons, alpha).to_csv(index=False),
        "stats.md": render_stats_markdown(comparisons, posthoc, alpha),
        "stats.json": json.dumps(
            {
                "test": "Friedman (scipy.stats.friedmanchisquare), images as blocks",
                "ranks": "per image, 1 = best in the metric's direction, ties averaged",
                "posthoc": posthoc,
                "posthoc_description": POSTHOC_TESTS[posthoc],
                "alpha": alpha,
                "blocks": [
                    {
                        "dataset": c.dataset,
                        "metric": c.metric,
                        "images": c.images,
                        "images_dropped": c.dropped,
                    }
                    for c in comparisons
                ],
                "skipped": skipped,
            },
            indent=2,
        )
        + "\n",
    }
    written = []
    for name, text in documents.items():
        write_text_atomic(outdir / name, text)
        written.append(outdir / name)
    if diagrams:
        from ivifbench.plots import cd_diagram, safe_name  # matplotlib only when drawing

        for c in comparisons:
            path = outdir / f"cd_{safe_name(c.dataset)}_{safe_name(c.metric)}.png"
            written.append(cd_diagram(c, alpha, posthoc, path))
    return written
