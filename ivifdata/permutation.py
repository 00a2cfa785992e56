"""Seeded bijective permutations of ``[0, size)`` that are evaluated lazily, index by index.

A :class:`Permutation` maps a position ``t`` to ``perm[t]`` without ever building the table, so
it can shuffle a set of ``N**2`` pairs with O(1) memory. It is a balanced Feistel network on the
smallest even number of bits that covers ``size``, keyed from the seed, with *cycle walking*:
values that land outside ``[0, size)`` are permuted again until they fall inside, which keeps the
map a bijection of ``[0, size)`` (a Feistel network is a bijection of its ``4**h`` domain, and the
cycle through an in-range value returns to the range).

Everything is vectorised over ``numpy.uint64`` arrays; arithmetic wraps modulo ``2**64``.
"""

from __future__ import annotations

import numpy as np

#: Feistel rounds; 6 rounds of a full-avalanche round function are far beyond what shuffling
#: training pairs needs.
ROUNDS = 6

#: Largest supported domain (the Feistel halves must fit in 32 bits each).
MAX_SIZE = 2**62

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a bijective, full-avalanche 64-bit hash (uint64 in, uint64 out)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


class Permutation:
    """A seeded bijection of ``[0, size)``; ``perm(t)`` for an int array ``t`` of positions.

    ``key`` is any sequence of non-negative ints (for example ``(seed, epoch, pass)``); equal
    keys give equal permutations on every machine.
    """

    def __init__(self, size: int, key: tuple[int, ...] | list[int]):
        if not 0 < size <= MAX_SIZE:
            raise ValueError(f"permutation size must be in [1, 2**62], got {size}")
        self.size = int(size)
        bits = max(2, (self.size - 1).bit_length())
        self._half = (bits + 1) // 2
        self._mask = np.uint64((1 << self._half) - 1)
        state = np.random.SeedSequence([int(k) for k in key]).generate_state(ROUNDS, np.uint64)
        self._keys = [np.uint64(k) for k in state]

    def _feistel(self, x: np.ndarray) -> np.ndarray:
        half = np.uint64(self._half)
        left = x >> half
        right = x & self._mask
        for key in self._keys:
            left, right = right, left ^ (_mix64(right ^ key) & self._mask)
        return (left << half) | right

    def __call__(self, positions: np.ndarray | int) -> np.ndarray:
        """``perm[t]`` for every position ``t`` (int array in ``[0, size)``) as an int64 array."""
        t = np.asarray(positions, dtype=np.int64)
        if t.size and (t.min() < 0 or t.max() >= self.size):
            raise IndexError(f"positions must lie in [0, {self.size})")
        out = self._feistel(t.astype(np.uint64))
        limit = np.uint64(self.size)
        outside = np.flatnonzero(out >= limit)
        while outside.size:  # cycle walking: at most a few extra rounds on a quarter of values
            out[outside] = self._feistel(out[outside])
            outside = outside[out[outside] >= limit]
        return out.astype(np.int64)
