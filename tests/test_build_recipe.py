"""Recipe validation: every problem is named by its key, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ivifdata.build import plan_build
from ivifdata.cli import main
from ivifdata.recipe import RecipeError, load_recipe, validate

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "manifests" / "sample.yaml"


def _sample() -> dict:
    return yaml.safe_load(SAMPLE.read_text())


def _problems(data: dict) -> str:
    with pytest.raises(RecipeError) as info:
        validate(data, REPO / "manifests")
    return "\n".join(info.value.problems)


def test_shipped_recipes_validate():
    # study-*.yaml are study files (ivifmodels study; tests/test_study.py validates them)
    names = sorted(p.name for p in (REPO / "manifests").glob("*.yaml") if "study-" not in p.name)
    assert {"sample.yaml", "msrs-sptp.yaml", "msrs-uptp.yaml", "msrs-aptp.yaml"} <= set(names)
    assert "m3fd-ir-msrs-vis-aptp.yaml" in names
    for name in names:
        load_recipe(REPO / "manifests" / name)


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (lambda r: r.update(colour="gray"), "colour", "unknown key"),
        (lambda r: r["patch"].update(sizes=64), "patch.sizes", "unknown key"),
        (lambda r: r["patch"].update(size="128"), "patch.size", "must be an integer"),
        (lambda r: r["patch"].update(size=True), "patch.size", "must be an integer"),
        (lambda r: r["patch"].update(size=4), "patch.size", ">= 8"),
        (lambda r: r["subset"].update(n=-3), "subset.n", None),
        (lambda r: r["subset"].pop("n"), "subset.n", "required"),
        (lambda r: r["subset"].update(n="some"), "subset.n", '"all"'),
        (lambda r: r["pairing"].update(mode="random"), "pairing.mode", "strict, unpaired"),
        (lambda r: r["pairing"].update(pairs_per_epoch=100), "pairing.pairs_per_epoch", "not both"),
        (lambda r: r["pairing"].update(overask="wrap"), "pairing.overask", "repeat, cap"),
        (lambda r: r["shards"].update(materialize="yes"), "shards.materialize", "true or false"),
        (lambda r: r["shards"].update(png_compression=10), "shards.png_compression", "<= 9"),
        (lambda r: r["patch"].update(stride=200), "patch.stride", "larger than patch.size"),
        (lambda r: r.update(ir=["a"]), "ir", "mapping"),
        (lambda r: r["ir"].pop("root"), "ir.root", "required"),
        (lambda r: r.update(gray="luma"), "gray", "bt601"),
    ],
)
def test_static_errors_name_the_key(edit, key, words):
    data = _sample()
    edit(data)
    text = _problems(data)
    assert any(line.startswith(f"{key}:") for line in text.splitlines()), text
    if words:
        assert words in text


@pytest.mark.parametrize(
    ("override", "key", "words"),
    [
        ("pairing.ratio=.inf", "pairing.ratio", "must be a finite number, got inf"),
        ("pairing.ratio=-.inf", "pairing.ratio", "must be a finite number, got -inf"),
        ("pairing.ratio=.nan", "pairing.ratio", "must be a finite number, got nan"),
        ("pairing.ratio=1.0e+300", "pairing.ratio", "pairs per epoch; at most 2**62"),
        ("patch.min_std=.nan", "patch.min_std", "must be a finite number, got nan"),
        ("patch.min_std=128", "patch.min_std", "<= 127.5"),
        (
            "pairing.pairs_per_epoch=9223372036854775807",
            "pairing.pairs_per_epoch",
            "<= 4,611,686,018,427,387,904",
        ),
        ("pairing.seed=9223372036854775808", "pairing.seed", "must fit a 64-bit integer"),
        ("subset.n=4294967296", "subset.n", "<= 2,147,483,648"),
    ],
)
def test_numbers_are_bounded_and_named_by_key(override, key, words):
    """Issue 14 item 8: non-finite or out-of-range numbers are refused up front, by key."""
    overrides = [override] if "pairs_per_epoch" not in override else [override, "pairing.ratio="]
    with pytest.raises(RecipeError) as info:
        load_recipe(SAMPLE, overrides)
    assert [p.split(":")[0] for p in info.value.problems] == [key]
    assert words in info.value.problems[0], info.value.problems


def test_ratio_bound_is_checked_when_n_is_all(tmp_path):
    """With ``subset.n: all`` N is known after the draw: the build stops there, naming the key,
    and leaves no output folder (a ratio of 1e300 once built but could not be indexed)."""
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["build", str(SAMPLE), "-o", str(out), "--set", "subset.n=all"]
        + ["--set", "pairing.ratio=1.0e+300"],
    )
    assert result.exit_code == 2 and "pairing.ratio: 1e+300 x N = 140" in result.output
    assert not out.exists()


def test_strict_across_datasets_is_rejected():
    data = _sample()
    data["pairing"]["mode"] = "strict"
    data["vis"]["dataset"] = "msrs"
    text = _problems(data)
    assert text.startswith("pairing.mode:") and "vis.dataset" in text


def test_unpaired_needs_two_patches():
    data = _sample()
    data["pairing"]["mode"] = "unpaired"
    data["subset"]["n"] = 1
    assert _problems(data).startswith("subset.n:")


def test_set_overrides_and_their_errors():
    recipe = load_recipe(SAMPLE, ["subset.n=12", "pairing.mode=unpaired", "patch.min_std=0"])
    assert recipe.get("subset.n") == 12 and recipe.get("pairing.mode") == "unpaired"
    assert recipe.pairs_per_epoch(12) == 1200  # ratio 100 from the file
    with pytest.raises(RecipeError, match=r"patch\.sise: unknown key"):
        load_recipe(SAMPLE, ["patch.sise=64"])
    with pytest.raises(RecipeError, match="KEY=VALUE"):
        load_recipe(SAMPLE, ["subset.n"])
    with pytest.raises(RecipeError, match=r"subset\.n: must be"):
        load_recipe(SAMPLE, ["subset.n=[1, 2]"])


@pytest.mark.parametrize(
    ("overrides", "key", "words"),
    [
        (["subset.n=100000"], "subset.n", "hold only"),
        (["patch.size=1024", "patch.stride=1024"], "patch.size", "larger than every"),
        (["ir.split=train", "vis.split=train"], "ir.split", "(none), test"),
        (["ir.dataset=tno", "vis.dataset=tno"], "ir.dataset", "found: msrs, roadscene"),
        (["ir.layout=msrs", "vis.layout=msrs"], "ir.root", "msrs"),
        (["ir.layout=nope", "vis.layout=nope"], "ir.layout", "unknown layout"),
        (["ir.root=/nonexistent/x", "vis.root=/nonexistent/x"], "ir.root", "not a folder"),
        (["ir.match=*.bmp", "vis.match=*.bmp"], "ir.match", "no ir path"),
    ],
)
def test_data_errors_name_the_key(overrides, key, words):
    with pytest.raises(RecipeError) as info:
        plan_build(load_recipe(SAMPLE, overrides))
    text = "\n".join(info.value.problems)
    assert text.startswith(f"{key}:") and words in text, text


def test_cli_reports_recipe_errors_with_exit_2_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["build", str(SAMPLE), "-o", str(out), "--set", "subset.n=100000"]
    )
    assert result.exit_code == 2
    assert "subset.n:" in result.output and "Traceback" not in result.output
    assert not out.exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npatch: [1\n")
    result = CliRunner().invoke(main, ["build", str(bad), "-o", str(out)])
    assert result.exit_code == 2 and "not valid YAML" in result.output
    assert not out.exists()


def test_source_filters_select_images(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(
        "# two pairs\nmsrs/test/ir/00004N.png\nroadscene/cropinfrared/FLIR_00006.jpg\n"
    )
    keys = [f"ir.list={listing}", f"vis.list={listing}", "subset.n=4"]
    plan = plan_build(load_recipe(SAMPLE, keys))
    assert [u.rel[0] for u in plan.source_sets[0].units] == [
        "msrs/test/ir/00004N.png",
        "roadscene/cropinfrared/FLIR_00006.jpg",
    ]
    plan = plan_build(load_recipe(SAMPLE, ["ir.match=msrs/*", "vis.match=msrs/*", "subset.n=32"]))
    assert {u.dataset for u in plan.source_sets[0].units} == {"msrs"}
    assert plan.grids[0].total == 4 * 4 * 2  # 320x240 crops, 128 patches at stride 64
