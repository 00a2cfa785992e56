"""``ivifbench report --stats``: Friedman test, ranks, post-hoc tests, CD diagrams, CDF curves."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image
from scipy.stats import chi2

from ivifbench.cli import main
from ivifbench.report import MetricSpec
from ivifbench.stats import compare_all

#: image -> values of methods A, B, C, D (no ties within an image).
FIXED = {
    "i1": [7.1, 6.9, 6.5, 6.0],
    "i2": [7.3, 7.0, 7.2, 6.1],
    "i3": [6.8, 6.7, 6.2, 6.4],
    "i4": [7.0, 7.2, 6.6, 5.9],
    "i5": [7.4, 6.8, 6.9, 6.3],
    "i6": [7.2, 7.1, 6.4, 6.5],
}
METHODS = ["A", "B", "C", "D"]
EN = MetricSpec("EN", "higher", "bits")
MSE = MetricSpec("MSE", "lower", "")


def fixed_table() -> pd.DataFrame:
    """The fixed table in eval's long layout; MSE holds the same numbers as EN."""
    rows = [
        {"dataset": "d", "method": m, "image": image, "EN": x, "MSE": x}
        for image, values in FIXED.items()
        for m, x in zip(METHODS, values, strict=True)
    ]
    return pd.DataFrame(rows)


def test_friedman_ranks_and_nemenyi_are_pinned() -> None:
    (en, mse), skipped = compare_all(fixed_table(), [EN, MSE], METHODS, "nemenyi", 0.05)
    assert not skipped and en.images == 6 and en.dropped == 0
    # rank sums 7, 13, 18, 22 over 6 images (1 = highest EN), reversed for MSE (lower is better)
    assert en.ranks.to_dict() == pytest.approx({"A": 7 / 6, "B": 13 / 6, "C": 3.0, "D": 22 / 6})
    assert mse.ranks.to_dict() == pytest.approx({"A": 23 / 6, "B": 17 / 6, "C": 2.0, "D": 8 / 6})
    # Friedman statistic by its textbook formula, p from the chi-square with k - 1 = 3 dof
    n, k, sums = 6, 4, np.array([7, 13, 18, 22])
    assert en.statistic == pytest.approx(12 / (n * k * (k + 1)) * (sums**2).sum() - 3 * n * (k + 1))
    assert en.statistic == pytest.approx(12.6) and mse.statistic == pytest.approx(12.6)
    assert en.p_value == pytest.approx(chi2.sf(12.6, 3)) == pytest.approx(0.0055865460973023775)
    # Demšar (2006), table 5: q_0.05 = 2.569 for k = 4
    assert en.critical_difference == pytest.approx(2.569 * math.sqrt(k * (k + 1) / (6 * n)), 1e-3)
    assert en.critical_difference == pytest.approx(1.9148432265902373)
    expected = [
        [1.0, 0.5362869683523482, 0.06638945003343655, 0.004426398263298159],
        [0.5362869683523482, 1.0, 0.678387686418039, 0.18328657955037886],
        [0.06638945003343655, 0.678387686418039, 1.0, 0.8077574765130124],
        [0.004426398263298159, 0.18328657955037886, 0.8077574765130124, 1.0],
    ]
    np.testing.assert_allclose(en.pvalues.to_numpy(), expected, rtol=1e-9)
    assert list(en.pvalues.index) == METHODS == list(en.pvalues.columns)


def test_wilcoxon_holm_is_pinned() -> None:
    (en,), _ = compare_all(fixed_table(), [EN], METHODS, "wilcoxon-holm", 0.05)
    # exact two-sided signed-rank p of 6 pairs all one way is 2 / 2^6; Holm multiplies the
    # smallest of the 6 pairwise p-values by 6
    p = en.pvalues.to_numpy()
    assert p[0, 3] == pytest.approx(6 * 2 / 2**6) == pytest.approx(0.1875)
    expected = [
        [1.0, 0.46875, 0.1875, 0.1875],
        [0.46875, 1.0, 0.46875, 0.1875],
        [0.1875, 0.46875, 1.0, 0.46875],
        [0.1875, 0.1875, 0.46875, 1.0],
    ]
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    assert math.isnan(en.critical_difference)


def test_incomplete_images_are_dropped_and_small_blocks_skipped() -> None:
    table = fixed_table()
    table.loc[(table["image"] == "i6") & (table["method"] == "B"), "EN"] = np.nan
    table = table[~((table["image"] == "i5") & (table["method"] == "C"))]
    (en,), _ = compare_all(table, [EN], METHODS, "nemenyi", 0.05)
    assert (en.images, en.dropped) == (4, 2)
    done, skipped = compare_all(fixed_table(), [EN], ["A", "B"], "nemenyi", 0.05)
    assert not done and "at least 3 methods" in skipped[0]["reason"]
    tied = fixed_table().assign(EN=5.0)
    done, skipped = compare_all(tied, [EN], METHODS, "nemenyi", 0.05)
    assert not done and "tie on every image" in skipped[0]["reason"]


def test_pairs_without_differences_get_p_one(recwarn: pytest.WarningsRecorder) -> None:
    table = fixed_table()
    table.loc[table["method"] == "B", "EN"] = table.loc[table["method"] == "A", "EN"].to_numpy()
    (en,), _ = compare_all(table, [EN], METHODS, "wilcoxon-holm", 0.05)
    assert en.pvalues.loc["A", "B"] == 1.0 and en.pvalues.loc["A", "D"] < 1.0
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_report_stats_writes_tables_and_figures(per_image: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "r"
    args = ["report", str(per_image), "-o", str(outdir), "--metrics", "EN,MI,MSE", "--stats"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    stats = pd.read_csv(outdir / "stats.csv")
    msrs = stats[(stats["dataset"] == "msrs") & (stats["metric"] == "MI")]
    assert list(msrs["method"]) == ["CNN", "CNNcolor", "GAN", "Trans", "lap"]
    assert msrs["average_rank"].sum() == pytest.approx(15.0)  # 1 + ... + 5 per image
    assert set(stats["dataset"]) == {"msrs"}  # roadscene has 2 methods: skipped, and said why
    sidecar = json.loads((outdir / "stats.json").read_text())
    assert {s["dataset"] for s in sidecar["skipped"]} == {"roadscene"}
    assert sidecar["posthoc"] == "nemenyi"
    pairs = pd.read_csv(outdir / "posthoc.csv")
    assert len(pairs) == 3 * 10  # 3 metrics x C(5, 2) pairs
    assert "| Friedman p |" in (outdir / "stats.md").read_text()
    for name in ["cd_msrs_EN.png", "cd_msrs_MI.png", "cdf_EN.png", "cdf_MSE.png"]:
        with Image.open(outdir / name) as image:
            assert image.format == "PNG" and image.size[0] > 300
    assert not list(outdir.glob(".*tmp"))  # written through temporary files, none left


def test_report_stats_options(per_image: Path, tmp_path: Path) -> None:
    base = ["report", str(per_image), "-o", str(tmp_path), "--metrics", "EN", "--stats"]
    result = CliRunner().invoke(main, [*base, "--posthoc", "wilcoxon-holm", "--alpha", "0.1"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "stats.json").read_text())["alpha"] == 0.1
    for bad in (["--posthoc", "tukey"], ["--alpha", "1.5"]):
        wrong = CliRunner().invoke(main, [*base, *bad])
        assert wrong.exit_code == 2 and "Traceback" not in wrong.output
