"""Time EI, CE, Qcb, Qcv (vifb), Nabf (tang) and VIFF on the 640x480 reference triples, one core.

Per metric, the median wall and CPU milliseconds per call of the function ``ivifbench.compute``
runs (float64 planes already decoded; medians over calls, then over triples), the CPU
milliseconds of the same calls on the numpy reference path (``kernels.reference_path()``,
timed in the same run) and two ratios:

* against the reference toolbox's own time for the same call, the ``seconds`` of that metric in
  ``values.csv`` (Octave 7.3 for VIFB, Tang and Han, measured when the set was made);
* against a baseline measured in this run on the first triple: the same definitions written the
  direct way the MATLAB code computes them (2-D ``correlate2d``/``convolve2d`` windows, complex
  ``fft2`` with ``fftshift``, a Python loop over ``blkproc`` blocks, whole-image masks). Its
  values are compared with ours as a check.

Usage: ``python benchmarks/metrics_extra.py [--repeats N]``. Needs ``../shared/refs``.
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
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import correlate  # noqa: E402
from scipy.signal import convolve2d, correlate2d  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ivifbench.conventions import CONVENTIONS  # noqa: E402
from ivifbench.metrics import kernels  # noqa: E402
from ivifdata.imageio import read_image  # noqa: E402

REFS = Path(__file__).resolve().parents[1] / ".." / "shared" / "refs"

#: canonical name -> (convention whose wiring is timed, reference, name the reference prints)
TIMED = {
    "EI": ("vifb", "vifb", "Edge_intensity"),
    "CE": ("vifb", "vifb", "Cross_entropy"),
    "Qcb": ("vifb", "vifb", "Qcb"),
    "Qcv": ("vifb", "vifb", "Qcv"),
    "Nabf": ("tang", "tang", "Nabf"),
    "VIFF": ("cddfuse", "han", "VIFF(Han2013)"),
}
SOBEL = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])


def _normalize1(x: np.ndarray) -> np.ndarray:
    return np.floor((x - x.min()) / (x.max() - x.min()) * 255 + 0.5)


def _freqspace_radius(shape: tuple[int, int], divisor: float) -> np.ndarray:
    m, n = shape
    u = (np.arange(n) - n // 2) * (2 / n) * (n / divisor)
    v = (np.arange(m) - m // 2) * (2 / m) * (m / divisor)
    uu, vv = np.meshgrid(u, v)
    return np.sqrt(uu**2 + vv**2)


def _csf_filter(image: np.ndarray, csf: np.ndarray) -> np.ndarray:
    return np.real(np.fft.ifft2(np.fft.ifftshift(np.fft.fftshift(np.fft.fft2(image)) * csf)))


def direct_ei(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    gx, gy = correlate(f, SOBEL, mode="nearest"), correlate(f, SOBEL.T, mode="nearest")
    return float(np.mean(np.sqrt(gx**2 + gy**2)))


def direct_ce(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    def divergence(s: np.ndarray) -> float:
        ps = np.histogram(s, bins=256, range=(0, 256))[0] / s.size
        pf = np.histogram(f, bins=256, range=(0, 256))[0] / f.size
        both = (ps != 0) & (pf != 0)
        return float(np.sum(ps[both] * np.log2(ps[both] / pf[both])))

    return (divergence(b) + divergence(a)) / 2


def direct_qcb(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    r = _freqspace_radius(f.shape, 30)
    csf = np.exp(-((r / 15.3870) ** 2)) - 0.7622 * np.exp(-((r / 1.3456) ** 2))
    x, y = np.meshgrid(np.arange(-15, 16), np.arange(-15, 16))

    def masked_contrast(image: np.ndarray) -> np.ndarray:
        filtered = _csf_filter(_normalize1(image), csf)
        blur = [
            correlate2d(
                filtered, np.exp(-(x * x + y * y) / (2 * s * s)) / (2 * np.pi * s * s), "same"
            )
            for s in (2, 4)
        ]
        c = np.abs(blur[0] / blur[1] - 1)
        return c**3 / (c**2 + 1e-4)

    cf, ca, cb = (masked_contrast(image) for image in (f, a, b))
    qa = np.where(ca < cf, ca / cf, cf / ca)
    qb = np.where(cb < cf, cb / cf, cf / cb)
    return float(np.mean((cb**2 * qb + ca**2 * qa) / (cb**2 + ca**2)))


def direct_qcv(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    f, a, b = _normalize1(f), _normalize1(a), _normalize1(b)
    r = _freqspace_radius(f.shape, 8)
    csf = 2.6 * (0.0192 + 0.144 * r) * np.exp(-((0.144 * r) ** 1.1))
    m, n = f.shape

    def blkproc(image: np.ndarray, fun: Callable[[np.ndarray], float]) -> np.ndarray:
        padded = np.zeros((-(-m // 16) * 16, -(-n // 16) * 16))
        padded[:m, :n] = image
        return np.array(
            [
                [fun(padded[i : i + 16, j : j + 16]) for j in range(0, padded.shape[1], 16)]
                for i in range(0, padded.shape[0], 16)
            ]
        )

    num = den = 0.0
    for s in (b, a):
        g = np.sqrt(correlate2d(s, SOBEL.T, "same") ** 2 + correlate2d(s, SOBEL, "same") ** 2)
        saliency = blkproc(g, lambda x: np.sum(x**5))
        distortion = blkproc(_csf_filter(s - f, csf), lambda x: np.mean(x**2))
        num, den = num + saliency * distortion, den + saliency
    return float(np.sum(num) / np.sum(den))


def direct_nabf(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    def edges(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gv = correlate(img, -SOBEL.T / 8, mode="mirror")
        gh = correlate(img, -SOBEL / 8, mode="mirror")
        angle = np.arctan(gv / gh)
        angle[(gv == 0) & (gh == 0)] = 0
        return np.sqrt(gh**2 + gv**2), angle

    (gf, af), (ga, aa), (gb, ab) = edges(f), edges(a), edges(b)

    def preservation(gs: np.ndarray, as_: np.ndarray) -> np.ndarray:
        ratio = np.where(gs > gf, gf / gs, gs / gf)
        ratio[(gs == 0) | (gf == 0)] = 0
        orient = np.abs(np.abs(as_ - af) - np.pi / 2) * 2 / np.pi
        qg = 0.9999 / (1 + np.exp(-19 * (ratio - 0.5)))
        return np.sqrt(qg * 0.9995 / (1 + np.exp(-22 * (orient - 0.5))))

    wa = np.where(ga >= 2, ga**1.5, 0.001)
    wb = np.where(gb >= 2, gb**1.5, 0.001)
    artefact = (gf > ga) & (gf > gb)
    loss = artefact * ((1 - preservation(ga, aa)) * wa + (1 - preservation(gb, ab)) * wb)
    return float(np.sum(loss) / np.sum(wa + wb))


def direct_viff(f: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    scores = []
    refs, dist = [a, b], f
    for scale, size in enumerate((17, 9, 5, 3)):
        x = np.arange(size) - (size - 1) / 2
        window = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * (size / 5) ** 2))
        window /= window.sum()
        if scale:
            refs = [convolve2d(r, window, mode="valid")[::2, ::2] for r in refs]
            dist = convolve2d(dist, window, mode="valid")[::2, ::2]
        mu2 = convolve2d(dist, window, mode="valid")
        s2 = np.maximum(convolve2d(dist * dist, window, mode="valid") - mu2 * mu2, 0)
        maps = []
        for ref in refs:
            mu1 = convolve2d(ref, window, mode="valid")
            s1 = np.maximum(convolve2d(ref * ref, window, mode="valid") - mu1 * mu1, 0)
            s12 = convolve2d(ref * dist, window, mode="valid") - mu1 * mu2
            g = s12 / (s1 + 1e-10)
            sv = s2 - g * s12
            g[s1 < 1e-10], sv[s1 < 1e-10], s1[s1 < 1e-10] = 0, s2[s1 < 1e-10], 0
            g[s2 < 1e-10], sv[s2 < 1e-10] = 0, 0
            sv[g < 0], g[g < 0] = s2[g < 0], 0
            sv[sv <= 1e-10] = 1e-10
            vid = np.log10(1 + g**2 * s1 / (sv + 0.005 * 255**2))
            maps.append((g, vid, np.log10(1 + s1 / (0.005 * 255**2))))
        first = maps[0][0] < maps[1][0]
        vid = np.where(first, maps[0][1], maps[1][1])
        vind = np.where(first, maps[0][2], maps[1][2])
        scores.append(np.sum(vid + 1e-7) / np.sum(vind + 1e-7))
    return float(np.dot(scores, np.array([1, 0, 0.15, 1]) / 2.15))


DIRECT = {
    "EI": direct_ei,
    "CE": direct_ce,
    "Qcb": direct_qcb,
    "Qcv": direct_qcv,
    "Nabf": lambda f, a, b: direct_nabf(a, b, f),  # Tang's (IR, VIS, F) call
    "VIFF": direct_viff,
}


def reference_seconds(values_csv: Path, triples: list[str]) -> dict[tuple[str, str], float]:
    """Median recorded seconds per (reference, printed name) over the given triples."""
    seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
    with values_csv.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["triple"] in triples and row["seconds"] and not row["error"]:
                seconds[row["reference"], row["metric"]].append(float(row["seconds"]))
    return {key: statistics.median(values) for key, values in seconds.items()}


def timed(call: Callable[[], float], repeats: int) -> tuple[float, float, float]:
    """(value, median wall ms, median CPU ms) of ``call`` after one warm-up call."""
    value = call()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return value, 1e3 * statistics.median(wall), 1e3 * statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    folders = [
        folder
        for folder in sorted((REFS / "triples").iterdir())
        if read_image(folder / "fused.png").shape == (480, 640)
    ]
    recorded = reference_seconds(REFS / "values.csv", [folder.name for folder in folders])
    planes = [
        tuple(read_image(folder / f"{n}.png").astype(np.float64) for n in ("fused", "ir", "vis"))
        for folder in folders
    ]
    print(f"{len(folders)} gray 640x480 triples, median of {args.repeats} calls, 1 thread")
    print(
        f"{'metric':<6} {'wall ms':>8} {'cpu ms':>7} {'numpy ms':>8} {'vs numpy':>8} "
        f"{'ref ms':>7} {'vs ref':>7} {'direct ms':>9} {'vs direct':>9} {'rel diff':>9}"
    )
    total = 0.0
    for name, (convention, reference, printed) in TIMED.items():
        impl = CONVENTIONS[convention].implementations[name]
        runs = [timed(lambda f=impl, p=p: f(*p), args.repeats) for p in planes]
        with kernels.reference_path():
            numpy_runs = [timed(lambda f=impl, p=p: f(*p), args.repeats) for p in planes]
        wall = statistics.median(run[1] for run in runs)
        cpu = statistics.median(run[2] for run in runs)
        numpy_cpu = statistics.median(run[2] for run in numpy_runs)
        total += wall
        ref = 1e3 * recorded.get((reference, printed), float("nan"))
        with np.errstate(all="ignore"):
            start = time.perf_counter()
            direct = DIRECT[name](*planes[0])
            direct_ms = 1e3 * (time.perf_counter() - start)
        diff = abs(runs[0][0] - direct) / max(abs(direct), 1e-300)
        print(
            f"{name:<6} {wall:8.2f} {cpu:7.2f} {numpy_cpu:8.2f} {numpy_cpu / cpu:7.1f}x "
            f"{ref:7.0f} {ref / wall:6.0f}x "
            f"{direct_ms:9.0f} {direct_ms / wall:8.0f}x {diff:9.1e}"
        )
    print(f"{'all six':<6} {total:8.2f}")


if __name__ == "__main__":
    main()
