"""The pairing loader: values, source ids, rank/worker splitting, reproducibility."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ivifdata.build import build
from ivifdata.loader import PairStream, make_loader
from ivifdata.recipe import load_recipe
from ivifdata.tarshards import iter_shard

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "manifests" / "sample.yaml"
BATCH = 10


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("loader") / "out"
    build(load_recipe(SAMPLE, ["pairing.ratio=5", "pairing.mode=unpaired"]), out)
    return out  # 48 patches, unpaired, 240 pairs per epoch


def _positions(stream: PairStream, batches) -> list[int]:
    return [g * stream.batch_size + k for g in batches for k in range(stream.batch_size)]


def test_batches_hold_the_bank_patches_in_0_1(bank_dir):
    stream = PairStream(bank_dir, BATCH)
    decoded = {}
    for shard in sorted(bank_dir.glob("patches-*.tar")):
        for key, field, data in iter_shard(shard):
            if field.endswith(".png"):
                decoded[(int(key[1:]), field)] = cv2.imdecode(
                    np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED
                )
    ir, vis, ids = next(iter(stream))
    assert ir.shape == vis.shape == (BATCH, 1, 128, 128) and ir.dtype == torch.float32
    assert ids.shape == (BATCH, 2) and ids.dtype == torch.int64
    assert 0.0 <= float(ir.min()) and float(ir.max()) <= 1.0
    for b, (i, j) in enumerate(ids.tolist()):
        assert i != j  # unpaired
        assert torch.equal(ir[b, 0], torch.from_numpy(decoded[(i, "ir.png")]).float() / 255)
        assert torch.equal(vis[b, 0], torch.from_numpy(decoded[(j, "vis.png")]).float() / 255)
    src = stream.bank.source(int(ids[0, 0]))
    assert src["ir"]["dataset"] in {"msrs", "roadscene"} and "path" in src["ir"]


def test_stream_follows_the_sampler_and_is_reproducible(bank_dir):
    stream = PairStream(bank_dir, BATCH, epoch=3)
    ids = torch.cat([b[2] for b in stream])
    i, j = stream.sampler.pairs(3, 0, len(ids))
    assert np.array_equal(ids[:, 0].numpy(), i) and np.array_equal(ids[:, 1].numpy(), j)
    again = torch.cat([b[2] for b in PairStream(bank_dir, BATCH, epoch=3)])
    assert torch.equal(ids, again)
    stream.set_epoch(4)
    assert not torch.equal(ids, torch.cat([b[2] for b in stream]))
    other_seed = torch.cat([b[2] for b in PairStream(bank_dir, BATCH, epoch=3, seed=77)])
    assert not torch.equal(ids, other_seed)


@pytest.mark.parametrize("world_size", [1, 3, 7])
def test_ranks_get_equal_disjoint_batches(bank_dir, world_size):
    per_epoch = 240
    served: list[int] = []
    lengths = set()
    for rank in range(world_size):
        stream = PairStream(bank_dir, BATCH, epoch=1, rank=rank, world_size=world_size)
        batches = list(stream)
        lengths.add(len(batches))
        assert len(batches) == len(stream)
        for workers in (1, 2, 3):  # the workers of a rank split its batches
            parts = [list(stream.global_batches(w, workers)) for w in range(workers)]
            merged = sorted(g for p in parts for g in p)
            assert merged == list(stream.global_batches())
        served += _positions(stream, stream.global_batches())
    assert len(lengths) == 1  # equal number of batches on every rank
    assert len(served) == len(set(served))  # no pair position twice in the epoch
    expected = (per_epoch // (BATCH * world_size)) * BATCH * world_size
    assert len(served) == expected and max(served) < per_epoch


def test_dataloader_workers_give_the_same_stream(bank_dir):
    single = [b[2] for b in make_loader(bank_dir, BATCH, epoch=2, rank=1, world_size=2)]
    multi = [
        b[2] for b in make_loader(bank_dir, BATCH, epoch=2, rank=1, world_size=2, num_workers=2)
    ]
    assert len(single) == len(multi) == 12
    assert all(torch.equal(a, b) for a, b in zip(single, multi, strict=True))


def test_cache_is_keyed_by_the_shards_and_bad_settings_fail(bank_dir, tmp_path):
    stream = PairStream(bank_dir, BATCH, cache_dir=tmp_path)
    assert stream.bank.cache_path.parent == tmp_path and stream.bank.cache_path.exists()
    sources = json.loads(stream.bank.sources_path.read_text())
    assert len(sources) == 48
    with pytest.raises(ValueError, match="no batch"):
        PairStream(bank_dir, 200, world_size=2)
    with pytest.raises(ValueError, match="rank"):
        PairStream(bank_dir, BATCH, rank=2, world_size=2)
