"""Regenerate the reference values of ``liu_values.csv``, ``tang_values.csv`` or
``fmi_values.csv``: the original MATLAB code run by GNU Octave on the real triples, one row per
(triple, metric).

Usage (the toolbox checkouts stay outside this repository; see README.md here)::

    python tests/references/octave_values.py liu --liu /tmp/matlab_refs/liu \
        --mefb /tmp/matlab_refs/mefb/metrics --out tests/references/liu_values.csv \
        tests/data/triples ../shared/refs/triples
    python tests/references/octave_values.py liu --liu /tmp/matlab_refs/liu \
        --mefb /tmp/matlab_refs/mefb/metrics --only Qp --out tests/references/qp_small_values.csv \
        tests/data/qp_small
    python tests/references/octave_values.py tang --tang /tmp/matlab_refs/tang/Evaluation \
        --out tests/references/tang_values.csv tests/data/triples ../shared/refs/triples
    python tests/references/octave_values.py fmi --tang /tmp/matlab_refs/tang/Evaluation \
        --dmey /tmp/matlab_refs/pivlab/wavelet/dmey.mat --crop 24 \
        --only FMI_pixel,FMI_dct,FMI_feature_none \
        --out tests/references/fmi_values.csv tests/data/triples ../shared/refs/triples
    python tests/references/octave_values.py fmi --tang /tmp/matlab_refs/tang/Evaluation \
        --dmey /tmp/matlab_refs/pivlab/wavelet/dmey.mat --crop 24 --only FMI_w \
        --out tests/references/fmi_w_values.csv tests/data/triples

Each triple folder holds ``fused.png``, ``ir.png`` and ``vis.png``, read with ``imread``; a
3-channel image goes through Octave ``rgb2gray`` (as Tang's ``Evaluation_for_Single_Image.m``,
i.e. the ``tang`` colour convention). ``liu``: every image ``double`` in 0-255, as Liu's
``fusionAssess.m`` passes the sources, metrics called with ``im1`` = IR, ``im2`` = VIS.
``tang``: ``im2double(x) * 255`` and ``imgSeq = cat(3, IR, VIS)``, as ``analysis_Reference.m``.
``fmi``: as ``tang``, on the ``--crop`` x ``--crop`` window of every image whose top-left
pixel is (rows // 2 - crop // 2, cols // 2 - crop // 2) (0-based; taken after ``rgb2gray``),
because Tang's per-window loops take about 8 ms per window in Octave. Octave has no ``dwt2``
and its ``edge`` differs from MATLAB's, so ``shims/`` (``edge.m``, ``dwt2.m``) is put first on
the path; ``dwt2`` reads MATLAB's discrete Meyer taps from ``--dmey`` (MATLAB's
``dmey.mat``); ``dct2`` is the signal package's; liu and tang need no shim.
Values are printed with ``%.17g``. ``--only NAME[,NAME]`` runs only those
metrics and merges their rows into an existing ``--out`` (the other rows are kept unchanged).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: toolbox -> (metric name, Octave expression on ir, vis, f, seq).
CALLS = {
    "liu": [
        ("Q0", "metricPeilla(ir, vis, f, 1)"),
        ("Qw", "metricPeilla(ir, vis, f, 2)"),
        # Liu's case 3 multiplies by an undefined Q (fails); MEFB's metricsQw.m is that case with
        # Qe = Qw(edge maps)^alpha, alpha = 1: Piella's Qe.
        ("Qe", "metricsQw(ir, vis, f)"),
        ("diag_Qe_liu_sw3", "metricPeilla(ir, vis, f, 3)"),
        ("Qy", "metricYang(ir, vis, f)"),
        ("Qc", "metricCvejic(ir, vis, f, 2)"),
        ("NCIE", "metricWang(ir, vis, f)"),
        ("TE", "metricMI(ir, vis, f, 2)"),
        # metricZhao.m defines pc_assessFusion (Octave runs a file's first function), with
        # Liu's myphasecong3.m (Kovesi's phasecong3 revised).
        ("Qp", "metricZhao(ir, vis, f)"),
    ],
    "tang": [("MS_SSIM", "analysis_ms_ssim(seq, f)")],
    # analysis_Reference.m's three calls (FMI_pixel passes no feature: 'edge'), and 'none'.
    "fmi": [
        ("FMI_pixel", "analysis_fmi(ir, vis, f)"),
        ("FMI_dct", "analysis_fmi(ir, vis, f, 'dct')"),
        ("FMI_w", "analysis_fmi(ir, vis, f, 'wavelet')"),
        ("FMI_feature_none", "analysis_fmi(ir, vis, f, 'none')"),
    ],
}

SHIMS = Path(__file__).resolve().parent / "shims"

SCRIPT = """
pkg load image
{paths}
function x = load_gray(p, crop)
  x = imread(p);
  if size(x, 3) == 3
    x = rgb2gray(x);
  end
  if crop > 0
    r = floor(rows(x) / 2) - floor(crop / 2);
    c = floor(columns(x) / 2) - floor(crop / 2);
    x = x(r + 1:r + crop, c + 1:c + crop);
  end
  x = {to_double};
end
f = load_gray('{folder}/fused.png', {crop});
ir = load_gray('{folder}/ir.png', {crop});
vis = load_gray('{folder}/vis.png', {crop});
seq = cat(3, ir, vis);
{calls}
"""

CALL = """
try
  t0 = tic; v = {expr}; s = toc(t0);
  printf('@@ROW\\t{name}\\t%.17g\\t%.3f\\t\\n', real(v), s);
catch err
  printf('@@ROW\\t{name}\\t\\t\\t%s\\n', strrep(err.message, sprintf('\\n'), ' '));
end
"""


#: toolbox -> Octave conversion of the uint8 images.
TO_DOUBLE = {"liu": "double(x)", "tang": "im2double(x) * 255.0", "fmi": "im2double(x) * 255.0"}


FIELDS = ["triple", "metric", "value", "seconds", "error"]


def run_triple(
    toolbox: str, paths: str, folder: Path, names: list[str], crop: int, env: dict[str, str]
) -> list[dict[str, str]]:
    calls = "".join(CALL.format(name=n, expr=e) for n, e in CALLS[toolbox] if n in names)
    script = SCRIPT.format(
        paths=paths, to_double=TO_DOUBLE[toolbox], folder=folder, crop=crop, calls=calls
    )
    with tempfile.TemporaryDirectory() as work:  # Octave may leave octave-workspace there
        (Path(work) / "run.m").write_text(script)
        out = subprocess.run(
            ["octave", "--no-gui", "--quiet", "--no-window-system", "run.m"],
            capture_output=True,
            text=True,
            check=True,
            cwd=work,
            env=env,
        ).stdout
    rows = []
    for line in out.splitlines():
        if line.startswith("@@ROW\t"):
            _, name, value, seconds, error = line.split("\t", 4)
            rows.append(
                {
                    "triple": folder.name,
                    "metric": name,
                    "value": value,
                    "seconds": seconds,
                    "error": error,
                }
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("toolbox", choices=sorted(CALLS))
    parser.add_argument("--liu", type=Path, help="zhengliu6699/imageFusionMetrics checkout")
    parser.add_argument("--mefb", type=Path, help="xingchenzhang/MEFB metrics/ folder")
    parser.add_argument("--tang", type=Path, help="Evaluation-for-Image-Fusion Evaluation/")
    parser.add_argument("--dmey", type=Path, help="MATLAB's dmey.mat (fmi's wavelet feature)")
    parser.add_argument("--crop", type=int, default=0, help="centre crop side (0: whole image)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--only",
        help="comma-separated metric names: run only these and merge their rows into an "
        "existing --out (the other rows are kept as they are)",
    )
    parser.add_argument("roots", type=Path, nargs="+", help="folders of triple folders")
    args = parser.parse_args()
    names = [n for n, _ in CALLS[args.toolbox]]
    only = names if args.only is None else args.only.split(",")
    unknown = sorted(set(only) - set(names))
    if unknown:
        parser.error(f"--only: no {args.toolbox} metric named {', '.join(unknown)}")
    needed = {"liu": ("liu", "mefb"), "tang": ("tang",), "fmi": ("tang", "dmey")}[args.toolbox]
    missing = [f"--{name}" for name in needed if getattr(args, name) is None]
    if missing:
        parser.error(f"{args.toolbox} needs {' '.join(missing)}")
    # Liu's folder first: MEFB's copies of shared helpers must not shadow the originals.
    on_path = [name for name in needed if name != "dmey"]
    paths = "\n".join(
        "addpath('{}'{});".format(getattr(args, name).resolve(), ", '-end'" if i else "")
        for i, name in enumerate(on_path)
    )
    env = dict(os.environ)
    if args.toolbox == "fmi":
        # signal for dct2; the shims first on the path (shadowing the image package's edge).
        paths = f"pkg load signal\n{paths}\naddpath('{SHIMS}');"
        env["IVIF_DMEY_MAT"] = str(args.dmey.resolve())
    folders = {}
    for root in args.roots:
        for folder in sorted(p for p in root.iterdir() if (p / "fused.png").is_file()):
            folders.setdefault(folder.name, folder.resolve())
    rows = []
    for i, (name, folder) in enumerate(sorted(folders.items()), 1):
        start = time.time()
        rows += run_triple(args.toolbox, paths, folder, only, args.crop, env)
        print(f"[{i}/{len(folders)}] {name}: {time.time() - start:.0f} s", file=sys.stderr)
    if args.only is not None and args.out.is_file():
        with args.out.open(newline="") as fh:
            rows += [r for r in csv.DictReader(fh) if r["metric"] not in only]
        order = {n: i for i, n in enumerate(names)}
        rows.sort(key=lambda r: (r["triple"], order.get(r["metric"], len(order))))
    tmp = args.out.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
