"""The three pair sets of the paper and the seeded, epoch-aware sampler that draws from them.

With ``N`` patches (bank entries ``0..N-1``, each holding an IR and a VIS patch):

* ``strict``    (SPTP): IR_i with VIS_i, ``N`` pairs;
* ``unpaired``  (UPTP): IR_i with VIS_j, ``i != j``, ``N (N - 1)`` pairs;
* ``arbitrary`` (APTP): IR_i with VIS_j, any ``i, j``, ``N**2`` pairs.

Every set is numbered ``k = 0 .. size-1`` and :meth:`PairSet.decode` maps numbers to ``(i, j)``
arithmetically, so a set is never materialised. :class:`EpochSampler` draws the pairs of one
epoch as a seeded permutation of those numbers: without replacement within an epoch. When an
epoch asks for more pairs ``P`` than the set holds ``S`` (the "over-ask" rule), the recipe says

* ``repeat``: the epoch is ``ceil(P / S)`` consecutive passes, each a fresh permutation of the
  whole set, the last one cut short; every pair is drawn ``floor(P / S)`` or ``ceil(P / S)``
  times and never twice within a pass;
* ``cap``: the epoch is shortened to one full pass of ``S`` pairs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ivifdata.permutation import Permutation


@dataclass(frozen=True)
class PairSet(ABC):
    """One pairing paradigm: how many pairs ``N`` patches give and which pair number ``k`` is."""

    name: str
    paradigm: str
    description: str

    @abstractmethod
    def size(self, n: int) -> int:
        """Number of pairs among ``n`` patches."""

    @abstractmethod
    def decode(self, k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Pair numbers ``k`` (int64 array in ``[0, size(n))``) -> (IR index i, VIS index j)."""


class StrictPairs(PairSet):
    def size(self, n: int) -> int:
        return n

    def decode(self, k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        return k, k.copy()


class UnpairedPairs(PairSet):
    def size(self, n: int) -> int:
        return n * (n - 1)

    def decode(self, k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        i, r = np.divmod(k, n - 1)
        return i, r + (r >= i)  # skip j == i


class ArbitraryPairs(PairSet):
    def size(self, n: int) -> int:
        return n * n

    def decode(self, k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.divmod(k, n)


#: pairing mode name (recipe key ``pairing.mode``) -> pair set.
PAIR_SETS: dict[str, PairSet] = {
    s.name: s
    for s in (
        StrictPairs("strict", "SPTP", "IR_i with VIS_i (aligned pairs)"),
        UnpairedPairs("unpaired", "UPTP", "IR_i with VIS_j, i != j"),
        ArbitraryPairs("arbitrary", "APTP", "IR_i with VIS_j, any i and j"),
    )
}

#: Most pairs an epoch may ask for: epoch positions, pair numbers and the loader's batch
#: positions are int64, and a pair set is a permutation of at most 2**62 numbers.
MAX_PAIRS_PER_EPOCH = 2**62

#: over-ask rule name -> description (see the module docstring).
OVERASK_RULES = {
    "repeat": "the epoch is several passes, each a fresh permutation of the whole set",
    "cap": "the epoch is shortened to one pass over the whole set",
}


@dataclass(frozen=True)
class EpochSampler:
    """The pairs of every epoch, drawn lazily: ``pairs(epoch, start, stop)`` -> (i, j) arrays.

    ``n`` patches, ``mode`` a key of :data:`PAIR_SETS`, ``pairs_per_epoch`` the pairs an epoch
    asks for, ``overask`` a key of :data:`OVERASK_RULES`. Memory is O(1) in the set size.
    """

    n: int
    mode: str
    pairs_per_epoch: int
    seed: int
    overask: str = "repeat"

    def __post_init__(self) -> None:
        if self.mode not in PAIR_SETS:
            raise ValueError(f"unknown pairing mode {self.mode!r}; known: {sorted(PAIR_SETS)}")
        if self.overask not in OVERASK_RULES:
            raise ValueError(f"unknown over-ask rule {self.overask!r}")
        if self.set_size < 1:
            raise ValueError(f"{self.mode} pairing of {self.n} patches gives no pair")
        if not 1 <= self.pairs_per_epoch <= MAX_PAIRS_PER_EPOCH:
            raise ValueError(f"pairs_per_epoch must be in [1, 2**62], got {self.pairs_per_epoch}")
        if self.set_size > MAX_PAIRS_PER_EPOCH:
            raise ValueError(f"{self.mode} pairing of {self.n} patches gives more than 2**62 pairs")

    @property
    def pair_set(self) -> PairSet:
        return PAIR_SETS[self.mode]

    @property
    def set_size(self) -> int:
        """Number of distinct pairs in the set (N, N(N-1) or N**2)."""
        return self.pair_set.size(self.n)

    @property
    def epoch_length(self) -> int:
        """Pairs actually drawn per epoch after the over-ask rule."""
        if self.overask == "cap":
            return min(self.pairs_per_epoch, self.set_size)
        return self.pairs_per_epoch

    def pair_numbers(self, epoch: int, positions: np.ndarray) -> np.ndarray:
        """Pair numbers ``k`` (int64 array) at the given epoch positions (int array)."""
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size and (positions.min() < 0 or positions.max() >= self.epoch_length):
            raise IndexError(f"epoch positions must lie in [0, {self.epoch_length})")
        if epoch < 0:
            raise ValueError("epoch must be >= 0")
        passes, offsets = np.divmod(positions, self.set_size)
        first, last = (int(passes.min()), int(passes.max())) if passes.size else (0, -1)
        if first == last:
            return _permutation(self.set_size, self.seed, epoch, first)(offsets)
        out = np.empty_like(positions)
        for p in range(first, last + 1):
            sel = passes == p
            out[sel] = _permutation(self.set_size, self.seed, epoch, p)(offsets[sel])
        return out

    def pairs_at(self, epoch: int, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(IR bank index i, VIS bank index j) at the given epoch positions."""
        return self.pair_set.decode(self.pair_numbers(epoch, positions), self.n)

    def pairs(self, epoch: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(IR bank index i, VIS bank index j) at epoch positions ``start .. stop-1``."""
        return self.pairs_at(epoch, np.arange(start, stop, dtype=np.int64))


@lru_cache(maxsize=64)
def _permutation(size: int, seed: int, epoch: int, pass_index: int) -> Permutation:
    """The permutation of pass ``pass_index`` of ``epoch`` (cached: keys are derived once)."""
    return Permutation(size, (seed, epoch, pass_index))
