"""Pair-set semantics, the lazy permutation and the over-ask rule (ivifdata.pair_sampler)."""

from __future__ import annotations

import numpy as np
import pytest

from ivifdata.pair_sampler import PAIR_SETS, EpochSampler
from ivifdata.permutation import Permutation


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 17, 64, 1000, 4097])
def test_permutation_is_a_bijection(size):
    values = Permutation(size, (7, 1))(np.arange(size))
    assert np.array_equal(np.sort(values), np.arange(size))


def test_permutation_is_seeded_and_lazy_on_huge_domains():
    size = 100_000**2  # N^2 of the scale check: never materialised
    block = np.arange(5_000_000, 5_200_000)
    a = Permutation(size, (1, 2, 3))(block)
    assert np.array_equal(a, Permutation(size, (1, 2, 3))(block))
    assert not np.array_equal(a, Permutation(size, (1, 2, 4))(block))
    assert a.min() >= 0 and a.max() < size
    assert len(np.unique(a)) == len(a)
    with pytest.raises(IndexError):
        Permutation(10, (0,))(np.array([10]))


def _epoch(sampler, epoch=0):
    return sampler.pairs(epoch, 0, sampler.epoch_length)


def test_strict_pairs_are_aligned_and_cover_every_patch_once():
    sampler = EpochSampler(n=37, mode="strict", pairs_per_epoch=37, seed=3)
    i, j = _epoch(sampler)
    assert np.array_equal(i, j)
    assert np.array_equal(np.sort(i), np.arange(37))
    assert not np.array_equal(i, np.arange(37))  # shuffled


def test_unpaired_never_pairs_i_with_i_and_covers_the_set():
    n = 23
    sampler = EpochSampler(n=n, mode="unpaired", pairs_per_epoch=n * (n - 1), seed=5)
    i, j = _epoch(sampler, epoch=2)
    assert not np.any(i == j)
    pairs = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(pairs) == n * (n - 1)  # every (i, j != i) exactly once
    assert np.all((0 <= i) & (i < n) & (0 <= j) & (j < n))


def test_arbitrary_covers_the_square_once_per_full_epoch():
    n = 19
    sampler = EpochSampler(n=n, mode="arbitrary", pairs_per_epoch=n * n, seed=1)
    i, j = _epoch(sampler)
    assert len(set(zip(i.tolist(), j.tolist(), strict=True))) == n * n
    assert np.any(i == j)


def test_arbitrary_is_uniform_over_the_square_across_epochs():
    n, per_epoch, epochs = 8, 16, 400  # 6400 draws, 100 expected per pair
    sampler = EpochSampler(n=n, mode="arbitrary", pairs_per_epoch=per_epoch, seed=11)
    counts = np.zeros((n, n))
    for epoch in range(epochs):
        i, j = _epoch(sampler, epoch)
        assert len(set(zip(i.tolist(), j.tolist(), strict=True))) == per_epoch  # no repeats
        np.add.at(counts, (i, j), 1)
    expected = per_epoch * epochs / n**2
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 103.4  # chi-square, 63 degrees of freedom, p = 0.001
    assert counts.min() > 0


def test_unpaired_is_uniform_across_epochs():
    n, per_epoch, epochs = 6, 10, 600  # 30 pairs, 200 expected each
    sampler = EpochSampler(n=n, mode="unpaired", pairs_per_epoch=per_epoch, seed=2)
    counts = np.zeros((n, n))
    for epoch in range(epochs):
        np.add.at(counts, _epoch(sampler, epoch), 1)
    assert np.all(np.diag(counts) == 0)
    off = counts[~np.eye(n, dtype=bool)]
    chi2 = float(((off - off.mean()) ** 2 / off.mean()).sum())
    assert chi2 < 59.7  # 29 degrees of freedom, p = 0.001


def test_overask_repeat_draws_whole_passes_then_a_partial_one():
    n = 5  # 25 arbitrary pairs, 60 asked: passes of 25, 25, 10
    sampler = EpochSampler(n=n, mode="arbitrary", pairs_per_epoch=60, seed=0)
    assert sampler.epoch_length == 60
    k = sampler.pair_numbers(0, np.arange(60))
    for start, stop in ((0, 25), (25, 50)):
        assert np.array_equal(np.sort(k[start:stop]), np.arange(25))
    assert len(np.unique(k[50:])) == 10
    assert not np.array_equal(k[:25], k[25:50])  # a fresh permutation per pass
    counts = np.bincount(k, minlength=25)
    assert set(counts.tolist()) <= {2, 3}


def test_overask_cap_shortens_the_epoch_to_one_pass():
    sampler = EpochSampler(n=5, mode="unpaired", pairs_per_epoch=1000, seed=0, overask="cap")
    assert sampler.epoch_length == 20
    i, j = _epoch(sampler)
    assert len(set(zip(i.tolist(), j.tolist(), strict=True))) == 20


def test_sampler_is_reproducible_and_epoch_aware():
    a = EpochSampler(n=50, mode="arbitrary", pairs_per_epoch=500, seed=9)
    b = EpochSampler(n=50, mode="arbitrary", pairs_per_epoch=500, seed=9)
    assert np.array_equal(a.pair_numbers(3, np.arange(500)), b.pair_numbers(3, np.arange(500)))
    assert not np.array_equal(a.pair_numbers(3, np.arange(500)), a.pair_numbers(4, np.arange(500)))
    # any slice of the epoch equals the same positions of the whole epoch
    whole = a.pair_numbers(1, np.arange(500))
    assert np.array_equal(a.pair_numbers(1, np.arange(120, 260)), whole[120:260])


def test_pair_set_sizes_and_bad_settings():
    assert [PAIR_SETS[m].size(10) for m in ("strict", "unpaired", "arbitrary")] == [10, 90, 100]
    with pytest.raises(ValueError, match="gives no pair"):
        EpochSampler(n=1, mode="unpaired", pairs_per_epoch=1, seed=0)
    with pytest.raises(IndexError):
        EpochSampler(n=4, mode="strict", pairs_per_epoch=4, seed=0).pairs(0, 0, 5)


def test_sampler_refuses_epochs_it_cannot_index():
    """Issue 14 item 8: positions are int64 and a pass is a permutation of <= 2**62 numbers."""
    assert EpochSampler(2**31, "arbitrary", 2**62, 0).epoch_length == 2**62
    with pytest.raises(ValueError, match=r"pairs_per_epoch must be in \[1, 2\*\*62\]"):
        EpochSampler(4, "arbitrary", 2**62 + 1, 0)
    with pytest.raises(ValueError, match="more than 2\\*\\*62 pairs"):
        EpochSampler(2**31 + 1, "arbitrary", 10, 0)
