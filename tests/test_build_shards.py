"""Building the bundled sample: determinism, resume after a kill, verify, index, webdataset."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import webdataset as wds
from click.testing import CliRunner

from ivifdata.build import BuildError, build
from ivifdata.cli import main
from ivifdata.imageio import read_gray
from ivifdata.pair_sampler import EpochSampler
from ivifdata.recipe import RecipeError, load_recipe
from ivifdata.shardformat import INDEX_FILE, RECORD_FILE, WORK_DIR
from ivifdata.verify import verify

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "manifests" / "sample.yaml"
PACKAGE_SAMPLE = REPO / "ivifdata" / "sample"


def test_sample_build_outputs(small_build):
    names = sorted(p.name for p in small_build.iterdir())
    assert names[:2] == [RECORD_FILE, INDEX_FILE]
    assert "patches-000005.tar" in names and "patches-000006.tar" not in names  # 48 / 8
    assert {"pairs-e0000.json", "pairs-e0001.json", "pairs-e0001-000003.tar"} <= set(names)
    assert not (small_build / WORK_DIR).exists()
    record = json.loads((small_build / RECORD_FILE).read_text())
    assert record["n"] == 48 and record["recipe"]["subset"]["n"] == 48
    assert {"numpy", "opencv-python-headless", "zlib", "ivifdata"} <= set(record["versions"])
    images = record["sources"][0]["images"]
    assert len(images) == 8 and all(len(h) == 64 for i in images for h in i["sha256"])
    assert set(record["timings_s"]) >= {"plan_s", "patches_s", "bank_s", "pairs_s"}
    assert (
        record["outputs"][INDEX_FILE]
        == hashlib.sha256((small_build / INDEX_FILE).read_bytes()).hexdigest()
    )


def test_index_is_a_wids_shard_index(small_build):
    index = json.loads((small_build / INDEX_FILE).read_text())
    assert index["__kind__"] == "wids-shard-index-v1" and index["wids_version"] == 1
    total = 0
    for entry in index["shardlist"]:
        path = small_build / entry["url"]  # wids resolves URLs relative to the index file
        assert path.stat().st_size == entry["filesize"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
        with tarfile.open(path) as archive:
            members = archive.getmembers()
        assert entry["nsamples"] == len(members) // 3
        assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in members)
        total += entry["nsamples"]
    assert total == index["ivifdata"]["n"] == 48


def test_patches_are_lossless_crops_of_their_sources(small_build):
    dataset = wds.WebDataset(str(small_build / "patches-{000000..000005}.tar"), shardshuffle=False)
    seen = 0
    for sample in dataset:
        assert "." not in sample["__key__"]
        meta = json.loads(sample["json"])
        assert sample["__key__"] == f"p{meta['index']:07d}" and meta["aligned"] is True
        for band, field in (("ir", "ir.png"), ("vis", "vis.png")):
            patch = cv2.imdecode(np.frombuffer(sample[field], np.uint8), cv2.IMREAD_UNCHANGED)
            src = meta[band]
            source = read_gray(PACKAGE_SAMPLE / src["path"])
            crop = source[src["y"] : src["y"] + 128, src["x"] : src["x"] + 128]
            assert patch.dtype == np.uint8 and np.array_equal(patch, crop)
            assert float(crop.std()) >= 2.0  # the flat-patch filter of the sample recipe
        assert meta["ir"]["x"] == meta["vis"]["x"] and meta["ir"]["y"] == meta["vis"]["y"]
        seen += 1
    assert seen == 48


def test_materialised_pairs_follow_the_sampler(small_build):
    index = json.loads((small_build / INDEX_FILE).read_text())
    pairing = index["ivifdata"]["pairing"]
    sampler = EpochSampler(48, "arbitrary", pairing["pairs_per_epoch"], pairing["seed"])
    bank_urls = str(small_build / "patches-{000000..000005}.tar")
    bank = {s["__key__"]: s for s in wds.WebDataset(bank_urls, shardshuffle=False)}
    i, j = sampler.pairs(1, 0, sampler.epoch_length)
    pairs = list(
        wds.WebDataset(str(small_build / "pairs-e0001-{000000..000003}.tar"), shardshuffle=False)
    )
    assert len(pairs) == sampler.epoch_length == 960
    for t in (0, 1, 299, 300, 959):
        meta = json.loads(pairs[t]["json"])
        assert (meta["epoch"], meta["position"]) == (1, t)
        assert (meta["ir"]["index"], meta["vis"]["index"]) == (i[t], j[t])
        assert pairs[t]["ir.png"] == bank[f"p{i[t]:07d}"]["ir.png"]
        assert pairs[t]["vis.png"] == bank[f"p{j[t]:07d}"]["vis.png"]


def test_same_recipe_gives_byte_identical_shards(
    small_build, tmp_path, small_build_args, build_digests
):
    again = tmp_path / "again"
    build(
        load_recipe(small_build_args[0], small_build_args[1:]), again, workers=2
    )  # other worker count, same bytes
    assert build_digests(again) == build_digests(small_build)
    other = tmp_path / "other"
    build(load_recipe(small_build_args[0], [*small_build_args[1:], "subset.seed=1"]), other)
    assert build_digests(other)["index.json"] != build_digests(small_build)["index.json"]


@pytest.mark.parametrize("kill_at", [3, 10, 16, 19])  # staging, bank shards, pair shards
def test_build_killed_then_resumed_ends_byte_identical(
    small_build, tmp_path, kill_at, small_build_args, build_digests, kill_small_build
):
    out = tmp_path / "out"
    kill_small_build(out, kill_at)
    assert not (out / RECORD_FILE).exists() and (out / WORK_DIR).exists()
    ref = build_digests(small_build)
    for name, digest in build_digests(out).items():  # nothing complete-looking is wrong
        if name.endswith(".tar"):
            assert ref[name] == digest, name
    problems, _ = verify(out)
    assert problems and "unfinished build" in problems[0]
    (out / "patches-000003.tar.partial").write_bytes(b"half a shard")  # killed mid-write
    outcome = build(load_recipe(small_build_args[0], small_build_args[1:]), out)
    assert outcome.state == "resumed" and outcome.record["resumed"] is True
    assert build_digests(out) == ref


def test_outdir_with_another_build_is_refused(small_build, tmp_path, small_build_args):
    with pytest.raises(BuildError, match="another recipe"):
        build(load_recipe(small_build_args[0], [*small_build_args[1:], "subset.n=40"]), small_build)
    outcome = build(
        load_recipe(small_build_args[0], small_build_args[1:]), small_build
    )  # same recipe: already complete
    assert outcome.state == "up to date" and outcome.record["n"] == 48
    (tmp_path / "junk.txt").write_text("x")
    with pytest.raises(BuildError, match="not empty"):
        build(load_recipe(SAMPLE), tmp_path)


def test_verify_catches_a_flipped_byte(small_build, tmp_path):
    out = tmp_path / "copy"
    out.mkdir()
    for p in small_build.iterdir():
        if p.is_file():
            (out / p.name).write_bytes(p.read_bytes())
    runner = CliRunner()
    result = runner.invoke(main, ["verify", str(out)])
    assert result.exit_code == 0, result.output
    assert "OK (3 indexes, 14 shards, 1968 samples" in result.output
    shard = out / "patches-000002.tar"
    data = bytearray(shard.read_bytes())
    data[512 + 300] ^= 0x01  # inside the first PNG of the shard
    shard.write_bytes(bytes(data))
    result = runner.invoke(main, ["verify", str(out)])
    assert result.exit_code == 1
    assert "patches-000002.tar: sha256 differs" in result.output
    assert "expected an 8-bit 128x128 gray PNG" in result.output  # the decode check finds it too


def test_inspect_prints_a_summary_and_a_contact_sheet(small_build, tmp_path):
    sheet = tmp_path / "sheet.png"
    result = CliRunner().invoke(
        main, ["inspect", str(small_build), "--contact-sheet", str(sheet), "--pairs", "6"]
    )
    assert result.exit_code == 0, result.output
    assert "N = 48 of 128x128" in result.output and "arbitrary: set of 2,304 pairs" in result.output
    assert "msrs 4, roadscene 4" in result.output
    image = cv2.imread(str(sheet), cv2.IMREAD_UNCHANGED)
    assert image.ndim == 2 and image.shape[0] > 2 * 128 and image.std() > 10


def test_cli_build_runs_the_sample_recipe(tmp_path):
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("built:") and "48 patches" in result.output
    result = CliRunner().invoke(main, ["build", str(SAMPLE), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0 and result.stdout.startswith("up to date:")


def _check_crops(out: Path, root: Path) -> list[dict]:
    metas = []
    for sample in wds.WebDataset(
        sorted(str(p) for p in out.glob("patches-*.tar")), shardshuffle=False
    ):
        meta = json.loads(sample["json"])
        for band in ("ir", "vis"):
            patch = cv2.imdecode(
                np.frombuffer(sample[f"{band}.png"], np.uint8), cv2.IMREAD_UNCHANGED
            )
            src = meta[band]
            image = read_gray(root / src["path"])
            assert np.array_equal(
                patch, image[src["y"] : src["y"] + 128, src["x"] : src["x"] + 128]
            )
        metas.append(meta)
    return metas


def test_ir_and_vis_from_different_datasets_are_drawn_independently(tmp_path):
    overrides = [
        "ir.root=package:sample/roadscene",
        "vis.root=package:sample/msrs",
        "subset.n=30",
        "pairing.ratio=3",
    ]
    out = tmp_path / "mixed"
    build(load_recipe(SAMPLE, overrides), out)
    metas = []
    for sample in wds.WebDataset(
        sorted(str(p) for p in out.glob("patches-*.tar")), shardshuffle=False
    ):
        meta = json.loads(sample["json"])
        for band, root in (("ir", "roadscene"), ("vis", "msrs")):
            patch = cv2.imdecode(
                np.frombuffer(sample[f"{band}.png"], np.uint8), cv2.IMREAD_UNCHANGED
            )
            src = meta[band]
            image = read_gray(PACKAGE_SAMPLE / root / src["path"])
            assert np.array_equal(
                patch, image[src["y"] : src["y"] + 128, src["x"] : src["x"] + 128]
            )
        metas.append(meta)
    assert len(metas) == 30
    assert all(m["aligned"] is False for m in metas)
    assert {m["ir"]["dataset"] for m in metas} == {"roadscene"}
    assert {m["vis"]["dataset"] for m in metas} == {"msrs"}
    with pytest.raises(RecipeError, match="pairing.mode: strict"):
        load_recipe(SAMPLE, [*overrides, "pairing.mode=strict"])


def test_strict_build_gives_aligned_patches(tmp_path):
    out = tmp_path / "strict"
    build(load_recipe(SAMPLE, ["pairing.mode=strict", "pairing.ratio=1", "subset.n=all"]), out)
    metas = _check_crops(out, PACKAGE_SAMPLE)
    index = json.loads((out / INDEX_FILE).read_text())["ivifdata"]
    assert index["n"] == len(metas) and index["pairing"]["set_size"] == len(metas)
    assert all((m["ir"]["x"], m["ir"]["y"]) == (m["vis"]["x"], m["vis"]["y"]) for m in metas)


SHARED = REPO / ".." / "shared" / "data"


@pytest.mark.shared
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
def test_paper_recipes_build_on_the_shared_sample(tmp_path):
    root = SHARED.resolve()  # roots set by --set are relative to data_dir, as in the file
    mixed = ["ir.root=m3fd", "vis.split=test", "subset.n=40"]  # MSRS matches msrs/
    recipe = load_recipe(REPO / "manifests" / "m3fd-ir-msrs-vis-aptp.yaml", mixed, root)
    build(recipe, tmp_path / "a")
    metas = [
        json.loads(s["json"])
        for s in wds.WebDataset(str(tmp_path / "a" / "patches-000000.tar"), shardshuffle=False)
    ]
    assert len(metas) == 40 and {m["ir"]["dataset"] for m in metas} == {"m3fd"}
    assert {m["vis"]["dataset"] for m in metas} == {"msrs"}
    strict = ["ir.split=test", "vis.split=test"]
    build(load_recipe(REPO / "manifests" / "msrs-sptp.yaml", strict, root), tmp_path / "s")
    index = json.loads((tmp_path / "s" / INDEX_FILE).read_text())["ivifdata"]
    assert index["n"] == 8 * 15 and index["pairing"]["mode"] == "strict"  # 8 pairs of 640x480
    problems, _ = verify(tmp_path / "s")
    assert problems == []


def test_subset_is_the_first_n_passing_candidates_of_the_permutation(tmp_path):
    from ivifdata.build import plan_build
    from ivifdata.permutation import Permutation

    overrides = ["patch.min_std=30", "subset.n=20", "subset.seed=4"]
    recipe = load_recipe(SAMPLE, overrides)
    grid = plan_build(recipe).grids[0]
    order = Permutation(grid.total, (4, 0))(np.arange(grid.total))
    unit, ys, xs = grid.locate(order)
    expected = []
    for u, y, x in zip(unit.tolist(), ys.tolist(), xs.tolist(), strict=True):
        crops = [read_gray(p)[y : y + 128, x : x + 128] for p in grid.units[u].paths]
        if all(c.std() >= 30 for c in crops):
            expected.append((grid.units[u].rel[0], x, y))
    assert 20 < len(expected) < grid.total  # the filter rejects some, more than one round runs
    calls = []
    build(recipe, tmp_path / "o", progress=lambda phase, n, total: calls.append(phase))
    assert calls.count("patches") > len({e[0] for e in expected[:20]})  # several rounds
    urls = sorted(str(p) for p in (tmp_path / "o").glob("patches-*.tar"))
    metas = [json.loads(s["json"]) for s in wds.WebDataset(urls, shardshuffle=False)]
    got = {(m["ir"]["path"], m["ir"]["x"], m["ir"]["y"]) for m in metas}
    assert got == set(expected[:20])
    with pytest.raises(RecipeError, match=r"subset\.n: only \d+ of the 140"):
        build(load_recipe(SAMPLE, ["patch.min_std=30", "subset.n=100"]), tmp_path / "x")
    assert not (tmp_path / "x").exists()  # the work folder was removed
