"""Training-time reading of a built patch bank: paired batches for one epoch, rank and worker.

:class:`PatchBank` decodes the bank shards once into a ``uint8`` cache file of shape
``(N, 2, S, S)`` (band 0 = IR, 1 = VIS, gray 0-255) that every process memory-maps, so batches
are gathered by fancy indexing and never decode a PNG. :class:`PairStream` is a torch
``IterableDataset`` that yields whole batches ``(ir, vis, ids)``: ``ir`` and ``vis`` float32
tensors ``(B, 1, S, S)`` in [0, 1] and ``ids`` an int64 ``(B, 2)`` tensor of the bank indices
``(i, j)`` of the IR and VIS patch (:meth:`PatchBank.source` names their source images).

Splitting (see ``docs/building.md``): the epoch's pair sequence (from
:class:`ivifdata.pair_sampler.EpochSampler`) is cut into batches of ``B`` consecutive pairs; the
tail that does not fill one batch for every rank is dropped, so every rank gets the same number
of batches; global batch ``g`` goes to rank ``g % world_size``, and a rank's ``b``-th batch to
DataLoader worker ``b % num_workers``. No pair position is served twice within an epoch, and
``DataLoader`` returns a rank's batches in order, whatever the number of workers.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ivifdata.atomic import atomic_path, write_json_atomic
from ivifdata.shardformat import (
    BANK_KEY,
    CACHE_DIR,
    PNG_FIELDS,
    ShardFormatError,
    decode_png,
    read_bank_index,
    sample_meta,
    sampler_from_index,
)
from ivifdata.tarshards import iter_samples

#: a process hands its pages of the cache back to the page cache after touching this many
#: bytes, so that its resident memory stays bounded for banks larger than RAM budgets.
RELEASE_BYTES = 64 << 20
#: batches whose pairs are drawn in one vectorised call.
BLOCK_BATCHES = 64


def _bank_samples(shard: Path, size: int, first: int) -> Iterator[tuple[dict[str, Any], bytes]]:
    """``(json record, IR and VIS pixel bytes)`` of each sample of the bank tar ``shard``, whose
    first entry is bank entry ``first``; ShardFormatError names the shard, sample and field."""
    k = first
    try:
        for key, fields in iter_samples(shard):
            where = f"{shard}:{key}"
            if key != BANK_KEY.format(k):
                raise ShardFormatError(f"{where}: expected sample {BANK_KEY.format(k)} here")
            missing = sorted({*PNG_FIELDS, "json"} - set(fields))
            if missing:
                raise ShardFormatError(f"{where}: no field {', '.join(missing)}")
            pixels = b"".join(
                decode_png(fields[f], size, f"{where}.{f}").tobytes() for f in PNG_FIELDS
            )
            yield sample_meta(fields["json"], f"{where}.json"), pixels
            k += 1
    except (tarfile.TarError, OSError) as exc:
        raise ShardFormatError(f"{shard}: unreadable tar shard ({exc})") from None
    except ShardFormatError:
        raise
    except ValueError as exc:  # iter_samples names the shard and member
        raise ShardFormatError(str(exc)) from None


class PatchBank:
    """The decoded bank of ``outdir`` (built by ``ivifdata build``), memory-mapped.

    ``array`` is ``(N, 2, S, S)`` uint8; the cache file lives in ``cache_dir`` (default
    ``outdir/cache``) and is named by the shards' sha256, so a rebuilt bank never reuses a stale
    cache. Creating the cache is atomic; concurrent processes may race and write equal bytes.
    A damaged bank raises ShardFormatError naming the shard (and sample and field) and leaves
    no partial cache file.
    """

    def __init__(self, outdir: str | Path, cache_dir: str | Path | None = None):
        self.outdir = Path(outdir)
        self.index = read_bank_index(self.outdir)
        self.n = self.index.n
        self.size = self.index.patch_size
        digest = hashlib.sha256("".join(e.sha256 for e in self.index.shards).encode()).hexdigest()[
            :20
        ]
        folder = Path(cache_dir) if cache_dir is not None else self.outdir / CACHE_DIR
        self.cache_path = folder / f"bank-{digest}.npy"
        self.sources_path = folder / f"bank-{digest}.sources.json"
        if not self.cache_path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            self._decode_all()
        self._array: np.memmap | None = None
        self._sources: list[dict[str, Any]] | None = None

    def _decode_all(self) -> None:
        """Decode every shard, in bank order, into the ``.npy`` cache (sequential writes: the
        pages go to the OS page cache, not to this process's resident memory)."""
        header = {
            "descr": "|u1",
            "fortran_order": False,
            "shape": (self.n, 2, self.size, self.size),
        }
        sources: list[dict[str, Any]] = []
        with atomic_path(self.cache_path, durable=False) as partial:
            with open(partial, "wb") as handle:
                np.lib.format.write_array_header_1_0(handle, header)
                for entry in self.index.shards:
                    shard = self.index.shard_path(entry)
                    for meta, bands in _bank_samples(shard, self.size, len(sources)):
                        handle.write(bands)
                        sources.append({"ir": meta["ir"], "vis": meta["vis"]})
            if len(sources) != self.n:
                raise ShardFormatError(
                    f"{self.outdir}: the shards hold {len(sources)} patches, the index says "
                    f"{self.n}"
                )
            write_json_atomic(self.sources_path, sources)

    @property
    def array(self) -> np.memmap:
        """``(N, 2, S, S)`` uint8 0-255, read-only memory map (opened on first use)."""
        if self._array is None:
            self._array = np.load(self.cache_path, mmap_mode="r")
            self._array._mmap.madvise(mmap.MADV_RANDOM)  # batches gather scattered patches
        return self._array

    def release(self) -> None:
        """Drop this process's resident pages of the map (they stay in the OS page cache)."""
        if self._array is not None and self._array._mmap is not None:
            self._array._mmap.madvise(mmap.MADV_DONTNEED)

    def source(self, i: int) -> dict[str, Any]:
        """Where bank entry ``i`` came from: ``{"ir": {dataset, path, x, y}, "vis": {...}}``."""
        if self._sources is None:
            self._sources = json.loads(self.sources_path.read_text())
        return self._sources[i]

    def __getstate__(self) -> dict[str, Any]:  # never pickle the map or the source list
        return {**self.__dict__, "_array": None, "_sources": None}


class PairStream(IterableDataset):
    """Batches ``(ir, vis, ids)`` of one epoch for one rank (see the module docstring).

    ``seed`` overrides the recipe's pairing seed; ``set_epoch`` moves to another epoch.
    """

    def __init__(
        self,
        outdir: str | Path,
        batch_size: int,
        epoch: int = 0,
        seed: int | None = None,
        rank: int = 0,
        world_size: int = 1,
        cache_dir: str | Path | None = None,
    ):
        if batch_size < 1 or world_size < 1 or not 0 <= rank < world_size:
            raise ValueError("need batch_size >= 1, world_size >= 1 and 0 <= rank < world_size")
        self.bank = PatchBank(outdir, cache_dir)
        self.sampler = sampler_from_index(self.bank.index, seed)
        self.batch_size = batch_size
        self.epoch = epoch
        self.rank = rank
        self.world_size = world_size
        if len(self) == 0:
            raise ValueError(
                f"an epoch of {self.sampler.epoch_length} pairs gives no batch of {batch_size} "
                f"to each of {world_size} ranks"
            )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        """Batches this rank gets per epoch (equal on every rank)."""
        return self.sampler.epoch_length // (self.batch_size * self.world_size)

    def global_batches(self, worker: int = 0, num_workers: int = 1) -> range:
        """Global batch numbers (batch ``g`` = epoch positions ``g*B .. g*B+B-1``) served by
        ``worker`` of ``num_workers`` on this rank."""
        step = self.world_size * num_workers
        start = self.rank + worker * self.world_size
        return range(start, len(self) * self.world_size, step)

    def _pairs(self, batches: range) -> tuple[np.ndarray, np.ndarray]:
        """(i, j) arrays of shape (len(batches), B) for global batch numbers ``batches``."""
        offsets = np.arange(self.batch_size, dtype=np.int64)
        positions = np.asarray(batches, dtype=np.int64)[:, None] * self.batch_size + offsets
        i, j = self.sampler.pairs_at(self.epoch, positions.ravel())
        return i.reshape(positions.shape), j.reshape(positions.shape)

    def _tensors(self, i: np.ndarray, j: np.ndarray) -> tuple[torch.Tensor, ...]:
        # One allocation holds both bands: two separate large buffers would make the allocator
        # return memory to the OS and fault it back in on every batch.
        array = self.bank.array
        out = np.empty((2, len(i), 1, self.bank.size, self.bank.size), np.float32)
        np.divide(array[i, 0][:, None], np.float32(255), out=out[0])
        np.divide(array[j, 1][:, None], np.float32(255), out=out[1])
        both = torch.from_numpy(out)
        return both[0], both[1], torch.from_numpy(np.stack([i, j], axis=1))

    def batch(self, g: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Global batch ``g`` of the current epoch: ``(ir, vis, ids)``."""
        i, j = self._pairs(range(g, g + 1))
        return self._tensors(i[0], j[0])

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        batches = self.global_batches(worker, workers)
        touched = 0
        per_batch = 2 * self.batch_size * self.bank.size**2
        for block in range(0, len(batches), BLOCK_BATCHES):
            i_block, j_block = self._pairs(batches[block : block + BLOCK_BATCHES])
            for i, j in zip(i_block, j_block, strict=True):
                yield self._tensors(i, j)
                touched += per_batch
                if touched >= RELEASE_BYTES:
                    self.bank.release()
                    touched = 0


def make_loader(
    outdir: str | Path,
    batch_size: int,
    epoch: int = 0,
    seed: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    cache_dir: str | Path | None = None,
) -> DataLoader:
    """A ``DataLoader`` over :class:`PairStream` (batches are formed by the stream itself).

    Call ``loader.dataset.set_epoch(e)`` before iterating epoch ``e``.
    """
    stream = PairStream(outdir, batch_size, epoch, seed, rank, world_size, cache_dir)
    return DataLoader(stream, batch_size=None, num_workers=num_workers)
