"""``ivifdata verify``: re-hash and decode every output of a build and report any damage."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from ivifdata.build import INDEX_FILE, RECORD_FILE, WORK_DIR
from ivifdata.loader import decode_png
from ivifdata.tarshards import PARTIAL_SUFFIX, iter_samples, read_index, sha256_file

PNG_FIELDS = ("ir.png", "vis.png")
FIELDS = {*PNG_FIELDS, "json"}


def _check_shard(outdir: Path, entry: dict, size: int, kind: str) -> list[str]:
    path = outdir / entry["url"]
    if not path.is_file():
        return [f"{path}: missing"]
    problems = []
    if path.stat().st_size != entry.get("filesize"):
        problems.append(f"{path}: size {path.stat().st_size} != {entry.get('filesize')} indexed")
    if sha256_file(path) != entry.get("sha256"):
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
            meta = json.loads(fields["json"])
            if not {"ir", "vis"} <= set(meta):
                problems.append(f"{path}:{key}.json: lacks the ir/vis source records")
            if kind == "patch-bank" and key != f"p{meta.get('index', -1):07d}":
                problems.append(f"{path}:{key}.json: index {meta.get('index')} != key")
    except (tarfile.TarError, ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: damaged ({exc})")
    else:
        if count != entry.get("nsamples"):
            problems.append(f"{path}: {count} samples, the index says {entry.get('nsamples')}")
    return problems


def verify(outdir: str | Path) -> tuple[list[str], dict[str, int]]:
    """(problems, counts) for the build in ``outdir``; no problems means every byte checks."""
    outdir = Path(outdir)
    record_path = outdir / RECORD_FILE
    if not record_path.is_file():
        unfinished = (outdir / WORK_DIR).is_dir()
        why = "an unfinished build (run the build again to resume)" if unfinished else "no build"
        return [f"{outdir}: {why}; {RECORD_FILE} is missing"], {}
    try:
        record = json.loads(record_path.read_text())
        outputs: dict[str, str] = record["outputs"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        return [f"{record_path}: unreadable build record ({exc})"], {}
    problems: list[str] = []
    counts = {"indexes": 0, "shards": 0, "samples": 0}
    size = None
    for name in [INDEX_FILE, *sorted(n for n in outputs if n != INDEX_FILE)]:
        path = outdir / name
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        if sha256_file(path) != outputs.get(name):
            problems.append(f"{path}: sha256 differs from {RECORD_FILE}")
        try:
            index = read_index(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        kind = index.get("ivifdata", {}).get("kind", "")
        if kind == "patch-bank":
            size = int(index["ivifdata"]["patch_size"])
        if size is None:
            problems.append(f"{outdir / INDEX_FILE}: no patch size; cannot check {path}")
            continue
        counts["indexes"] += 1
        for entry in index["shardlist"]:
            problems += _check_shard(outdir, entry, size, kind)
            counts["shards"] += 1
            counts["samples"] += int(entry.get("nsamples", 0))
    for leftover in sorted(outdir.glob(f"*{PARTIAL_SUFFIX}")):
        problems.append(f"{leftover}: leftover partial file")
    return problems, counts
