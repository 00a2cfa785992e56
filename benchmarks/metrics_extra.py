"""Time EI, CE, Qcb, Qcv (vifb), Nabf (tang) and VIFF on 640x480 triples, one core.

For each metric: the median milliseconds per call of the function ``ivifbench.compute`` runs
(float64 planes already decoded), the reference toolbox's own time for the same call on the same
triples (``seconds`` column of ``values.csv``: Octave 7.3 on the team's 2-core machine, recorded
when the reference values were made, not in this run) and their ratio. A fixed calibration
workload (a 640x480 float64 ``rfft2`` + ``irfft2`` round trip) is timed in the same run and every
metric is also given in those units, so figures from differently loaded machines compare.

    python benchmarks/metrics_extra.py [--refs ../shared/refs] [--repeats 15]

Without ``../shared/refs`` it falls back to the 640x480 triple in ``tests/data/triples``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core: set before numpy loads its BLAS

import argparse  # noqa: E402
import csv  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import scipy.fft  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ivifbench import CONVENTIONS  # noqa: E402
from ivifdata.imageio import read_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFS = ROOT / ".." / "shared" / "refs"
FALLBACK_REFS = ROOT / "tests" / "data" / "triples"

#: canonical name -> (convention whose wiring is timed, reference, name the reference prints)
TIMED = {
    "EI": ("vifb", "vifb", "Edge_intensity"),
    "CE": ("vifb", "vifb", "Cross_entropy"),
    "Qcb": ("vifb", "vifb", "Qcb"),
    "Qcv": ("vifb", "vifb", "Qcv"),
    "Nabf": ("tang", "tang", "Nabf"),
    "VIFF": ("cddfuse", "han", "VIFF(Han2013)"),
}


def median_ms(call: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``call`` in milliseconds after one warm-up call."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def gray_640x480_triples(refs: Path) -> tuple[Path, list[str]]:
    """Folder holding the triples and the ids of the gray 640x480 ones."""
    folder = refs / "triples" if (refs / "triples").is_dir() else refs
    ids = []
    for triple in sorted(p for p in folder.iterdir() if p.is_dir()):
        fused = read_image(triple / "fused.png")
        if fused.shape == (480, 640):
            ids.append(triple.name)
    return folder, ids


def reference_seconds(values_csv: Path, ids: list[str]) -> dict[tuple[str, str], list[float]]:
    """(reference, printed name) -> the recorded seconds on the given triples."""
    seconds: dict[tuple[str, str], list[float]] = {}
    with values_csv.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["triple"] in ids and row["seconds"] and not row["error"]:
                key = (row["reference"], row["metric"])
                seconds.setdefault(key, []).append(float(row["seconds"]))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refs", type=Path, default=DEFAULT_REFS, help="triples/ + values.csv")
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per triple")
    args = parser.parse_args()
    refs, repeat = args.refs, args.repeats
    if not (refs / "values.csv").is_file():
        refs = FALLBACK_REFS
    cv2.setNumThreads(1)
    folder, ids = gray_640x480_triples(refs)
    if not ids:
        sys.exit(f"error: {refs}: no gray 640x480 triple found")
    recorded = reference_seconds(refs / "values.csv", ids)
    planes = {
        t: tuple(
            read_image(folder / t / f"{n}.png").astype(np.float64) for n in ("fused", "ir", "vis")
        )
        for t in ids
    }
    probe = planes[ids[0]][0]
    calibration = median_ms(
        lambda: scipy.fft.irfft2(scipy.fft.rfft2(probe), s=probe.shape), 4 * repeat
    )
    print(f"{len(ids)} gray 640x480 triples from {folder}, {repeat} calls each, one core")
    print(f"calibration (640x480 float64 rfft2 + irfft2): {calibration:.2f} ms")
    print(
        f"{'metric':6} {'convention':10} {'ms/call':>8} {'x calib':>8} "
        f"{'reference s':>12} {'speed-up':>9}"
    )
    total = 0.0
    for name, (convention, reference, printed) in TIMED.items():
        impl = CONVENTIONS[convention].implementations[name]
        ms = statistics.median(
            median_ms(lambda f=impl, p=p: f(*p), repeat) for p in planes.values()
        )
        total += ms
        ref = recorded.get((reference, printed))
        ref_s = statistics.median(ref) if ref else float("nan")
        print(
            f"{name:6} {convention:10} {ms:8.2f} {ms / calibration:8.1f} "
            f"{ref_s:12.3f} {1e3 * ref_s / ms:8.0f}x"
        )
    print(f"{'all six':17} {total:8.2f} {total / calibration:8.1f}")


if __name__ == "__main__":
    main()
