"""The shipped recipes on real sample folders with one override (issue 13 item 8): ``--data-dir``,
dataset roots, names and splits matched ignoring case, ``--set`` paths resolved like file paths.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivifdata.build import INDEX_FILE, RECORD_FILE, plan_build
from ivifdata.cli import main
from ivifdata.recipe import RecipeError, load_recipe

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = REPO / "manifests"
BUNDLED = REPO / "ivifdata" / "sample"
DATASETS = REPO / "tests" / "data" / "datasets"


@pytest.fixture
def msrs_train(tmp_path: Path) -> Path:
    """A data folder holding a lowercase ``msrs/`` whose ``Train/`` split holds the 4 real MSRS
    pairs of the bundled sample (as a user's download may be spelled)."""
    data = tmp_path / "datasets"
    shutil.copytree(BUNDLED / "msrs" / "test", data / "msrs" / "Train")
    return data


def _build(*args: str):
    return CliRunner().invoke(main, ["build", *args])


def test_data_dir_is_the_one_override_the_paper_recipe_needs(msrs_train, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --data-dir is relative to the current directory
    out = tmp_path / "sptp"
    result = _build(str(MANIFESTS / "msrs-sptp.yaml"), "-o", str(out), "--data-dir", "datasets")
    assert result.exit_code == 0, result.output
    assert "8 patches" in result.stdout  # 4 pairs of 320x240: 2 patches of 128 each
    record = json.loads((out / RECORD_FILE).read_text())
    assert record["recipe"]["data_dir"] == str(msrs_train)
    assert record["sources"][0]["root"] == str(msrs_train / "msrs")  # root MSRS found as msrs
    assert json.loads((out / INDEX_FILE).read_text())["ivifdata"]["pairing"]["mode"] == "strict"
    same = _build(str(MANIFESTS / "msrs-sptp.yaml"), "-o", str(out), "--set", "data_dir=datasets")
    assert same.exit_code == 0 and same.stdout.startswith("up to date:"), same.output


def test_dataset_and_split_match_ignoring_case(msrs_train):
    keys = ["ir.root=.", "vis.root=.", "ir.dataset=MSRS", "vis.dataset=MSRS"]
    keys += ["ir.split=TRAIN", "vis.split=TRAIN", "ir.layout=null", "vis.layout=null"]
    plan = plan_build(load_recipe(MANIFESTS / "msrs-sptp.yaml", keys, msrs_train))
    assert [u.rel[0] for u in plan.source_sets[0].units][:1] == ["msrs/Train/ir/00004N.png"]
    assert len(plan.source_sets[0].units) == 4


def test_set_roots_are_relative_to_data_dir_as_in_the_file(msrs_train, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no msrs/ here: a root given by --set is below data_dir
    recipe = load_recipe(
        MANIFESTS / "msrs-aptp.yaml", ["ir.root=msrs", "vis.root=msrs"], "datasets"
    )
    assert recipe.source_root("ir") == msrs_train / "msrs"
    # data_dir and list files from --set are relative to the current directory
    recipe = load_recipe(MANIFESTS / "msrs-aptp.yaml", ["data_dir=datasets"])
    assert recipe.data_dir == msrs_train and recipe.source_root("vis") == msrs_train / "msrs"


def test_several_folders_matching_a_root_are_refused(msrs_train):
    shutil.copytree(msrs_train / "msrs", msrs_train / "Msrs")
    recipe = load_recipe(
        MANIFESTS / "msrs-aptp.yaml", ["ir.root=mSRS", "vis.root=mSRS"], msrs_train
    )
    with pytest.raises(RecipeError, match="ir.root: 'mSRS' matches several folders") as err:
        recipe.source_root("ir")
    assert "Msrs, msrs" in str(err.value)


def test_docs_example_on_the_bundled_test_split(tmp_path):
    """docs/building.md: a paper recipe on a folder holding only MSRS test pairs."""
    keys = ["--set", "ir.split=test", "--set", "vis.split=test", "--set", "subset.n=8"]
    args = [str(MANIFESTS / "msrs-aptp.yaml"), "-o", str(tmp_path / "o")]
    result = _build(*args, "--data-dir", str(BUNDLED), *keys)
    assert result.exit_code == 0 and "8 patches" in result.stdout, result.output
    text = (REPO / "docs" / "building.md").read_text()
    assert "--data-dir ivifdata/sample --set ir.split=test --set vis.split=test" in text
    assert "--set subset.n=8" in text
    # without the split overrides the error names the key and the fix
    result = _build(*args, "--data-dir", str(DATASETS))
    assert result.exit_code == 2
    assert "ir.split: no ir image has split in ['train'] (found: test)" in result.output
    assert "--set ir.split=test --set vis.split=test" in result.output
    # the test data's one 640x480 MSRS pair: the strict recipe with the splits set
    out = tmp_path / "s"
    result = _build(
        str(MANIFESTS / "msrs-sptp.yaml"), "-o", str(out), "--data-dir", str(DATASETS), *keys[:4]
    )
    assert result.exit_code == 0 and "15 patches" in result.stdout, result.output
