"""Time Zhao's Qp (compiled and numpy paths) against VIFB's Qcb (the slowest metric before its
compiled path) and against the floor of its method: the 72 complex 480 x 640 inverse FFTs
(3 images x 6 orientations x 4 scales) plus 3 forward FFTs that ``myphasecong3`` needs per
triple (ducc0, as the compiled path), timed the same way in this run. One thread, float64,
images already decoded.

Per row: median wall and CPU ms per call (medians over calls, then over the gray 640x480
triples of ``../shared/refs``, or of ``tests/data/triples`` without it), and the CPU ratio to
Qcb (the issue's bar: at most 3x). "shared src": Qp inside ``kernels.shared_sources()`` once
the source pair's phase congruency is cached, i.e. the cost per further fused image of a pair
in ``ivifbench eval``. The load average is printed with the numbers.

Usage: ``python benchmarks/phase_congruency.py [--repeats N]``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core: set before numpy loads its BLAS

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import ducc0  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.metrics_extra import timed  # noqa: E402
from ivifbench.conventions import CONVENTIONS  # noqa: E402
from ivifbench.metrics import kernels  # noqa: E402
from ivifbench.metrics.phase_congruency import NORIENT, NSCALE  # noqa: E402
from ivifdata.imageio import read_image  # noqa: E402

ROOTS = [ROOT / ".." / "shared" / "refs" / "triples", ROOT / "tests" / "data" / "triples"]


def fft_floor(shape: tuple[int, int]) -> float:
    """The FFTs alone, as the compiled path runs them (ducc0, with the copies into the transform
    buffer): 3 real-to-complex forward transforms and 3 x NORIENT x NSCALE in-place inverse
    ones. Returns one output sample."""
    rng = np.random.default_rng(0)
    image = rng.random(shape)
    buffer = np.empty((NSCALE, *shape), dtype=np.complex128)
    for _ in range(3):
        half = ducc0.fft.r2c(image, axes=(0, 1), nthreads=1)
        for _ in range(NORIENT):
            buffer[..., : half.shape[1]] = half
            out = ducc0.fft.c2c(buffer, axes=(1, 2), forward=False, inorm=2, out=buffer, nthreads=1)
    return float(out[0, 0, 0].real)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    root = next(r for r in ROOTS if r.is_dir())
    folders = [
        folder
        for folder in sorted(root.iterdir())
        if (folder / "fused.png").is_file() and read_image(folder / "fused.png").shape == (480, 640)
    ]
    planes = [
        tuple(read_image(folder / f"{n}.png").astype(np.float64) for n in ("fused", "ir", "vis"))
        for folder in folders
    ]
    qcb = CONVENTIONS["vifb"].implementations["Qcb"]
    qp = CONVENTIONS["tang"].implementations["Qp"]

    def median_ms(call) -> tuple[float, float]:
        runs = [timed(lambda p=p: call(*p), args.repeats) for p in planes]
        return statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs)

    def qp_numpy(*images: np.ndarray) -> float:
        with kernels.reference_path():
            return qp(*images)

    print(f"{len(folders)} gray 640x480 triples from {root}, median of {args.repeats} calls")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows = {
        "Qcb (vifb)": median_ms(qcb),
        "Qp compiled": median_ms(qp),
        "Qp numpy path": median_ms(qp_numpy),
        "75 FFTs alone": timed(lambda: fft_floor((480, 640)), args.repeats)[1:],
    }
    with kernels.shared_sources():  # as ivifbench eval: the sources' maps made once per pair
        rows["Qp, shared src"] = median_ms(qp)
    _, baseline = rows["Qcb (vifb)"]
    print(f"{'':<16} {'wall ms':>8} {'cpu ms':>8} {'cpu / Qcb':>9}")
    for name, (wall, cpu) in rows.items():
        print(f"{name:<16} {wall:8.1f} {cpu:8.1f} {cpu / baseline:8.2f}x")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
