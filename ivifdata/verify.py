"""``ivifdata verify``: re-hash and decode every output of a build and report any damage."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from ivifdata.atomic import PARTIAL_SUFFIX
from ivifdata.progress import Progress
from ivifdata.shardformat import (
    BANK_KEY,
    FIELDS,
    INDEX_FILE,
    PNG_FIELDS,
    RECORD_FILE,
    WORK_DIR,
    BankIndex,
    ShardEntry,
    ShardFormatError,
    ShardIndex,
    decode_png,
    read_index,
    sample_meta,
)
from ivifdata.tarshards import iter_samples, sha256_file


def _check_shard(index: ShardIndex, entry: ShardEntry, size: int) -> list[str]:
    path = index.shard_path(entry)
    if not path.is_file():
        return [f"{path}: missing"]
    problems = []
    if path.stat().st_size != entry.filesize:
        problems.append(f"{path}: size {path.stat().st_size} != {entry.filesize} indexed")
    if sha256_file(path) != entry.sha256:
        problems.append(f"{path}: sha256 differs from the index (the file changed)")
    count = 0
    try:
        for key, fields in iter_samples(path):
            count += 1
            if set(fields) != FIELDS:
                problems.append(f"{path}:{key}: fields {sorted(fields)} != {sorted(FIELDS)}")
                continue
            for field in PNG_FIELDS:
                decode_png(fields[field], size, f"{path}:{key}.{field}")
            meta = sample_meta(fields["json"], f"{path}:{key}.json")
            if index.kind == "patch-bank" and key != BANK_KEY.format(meta.get("index", -1)):
                problems.append(f"{path}:{key}.json: index {meta.get('index')} != key")
    except (tarfile.TarError, ValueError) as exc:
        problems.append(f"{path}: damaged ({exc})")
    else:
        if count != entry.nsamples:
            problems.append(f"{path}: {count} samples, the index says {entry.nsamples}")
    return problems


def _indexes(outdir: Path, outputs: dict[str, str], problems: list[str]) -> list[ShardIndex]:
    """The readable indexes named in the record, bank first; problems for the others."""
    indexes = []
    for name in [INDEX_FILE, *sorted(n for n in outputs if n != INDEX_FILE)]:
        path = outdir / name
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        if sha256_file(path) != outputs.get(name):
            problems.append(f"{path}: sha256 differs from {RECORD_FILE}")
        try:
            indexes.append(read_index(path))
        except ShardFormatError as exc:
            problems.append(str(exc))
    return indexes


def verify(
    outdir: str | Path, progress: Progress | None = None
) -> tuple[list[str], dict[str, int]]:
    """(problems, counts) for the build in ``outdir``; no problems means every byte checks.
    ``progress("verify", 1, shards)`` is called after each shard."""
    outdir = Path(outdir)
    record_path = outdir / RECORD_FILE
    if not record_path.is_file():
        unfinished = (outdir / WORK_DIR).is_dir()
        why = "an unfinished build (run the build again to resume)" if unfinished else "no build"
        return [f"{outdir}: {why}; {RECORD_FILE} is missing"], {}
    try:
        record = json.loads(record_path.read_text())
        outputs: dict[str, str] = dict(record["outputs"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        return [f"{record_path}: unreadable build record ({exc})"], {}
    problems: list[str] = []
    counts = {"indexes": 0, "shards": 0, "samples": 0}
    indexes = _indexes(outdir, outputs, problems)
    bank = indexes[0] if indexes and isinstance(indexes[0], BankIndex) else None
    if bank is None:
        problems.append(f"{outdir / INDEX_FILE}: no readable bank index; shards not checked")
        return problems, counts
    if record.get("n") != bank.n:
        problems.append(f"{bank.path}: ivifdata.n {bank.n} != n {record.get('n')} in {RECORD_FILE}")
    total = sum(len(index.shards) for index in indexes)
    for index in indexes:
        if index.kind == "pairs" and bank.pairing and index.nsamples != bank.pairing.epoch_length:
            problems.append(
                f"{index.path}: {index.nsamples} pairs indexed, the epoch has "
                f"{bank.pairing.epoch_length}"
            )
        counts["indexes"] += 1
        for entry in index.shards:
            problems += _check_shard(index, entry, bank.patch_size)
            counts["shards"] += 1
            counts["samples"] += entry.nsamples
            if progress:
                progress("verify", 1, total)
    for leftover in sorted(outdir.glob(f"*{PARTIAL_SUFFIX}")):
        problems.append(f"{leftover}: leftover partial file")
    return problems, counts
