"""Wall time of ``ivifmodels study`` by stage, and its overhead over doing the same by hand.

Runs, in one process and in this order:

1. by hand: the same work through the library calls a user would chain (``ivifdata.build``
   per distinct recipe, ``Trainer.run`` per cell, ``fuse_images`` + ``write_png`` per test
   image and model, ``run_eval`` per dataset with a fresh cache, ``ivifbench.report``);
2. the study: ``StudyRunner.run`` on the same study file into a fresh folder.

Prints the study's seconds per stage (from ``study.json``), the wall and CPU seconds of both
(CPU = user + system of this process and its children: much less sensitive to the other
processes on a shared machine than wall time) and the overhead (study / by hand - 1; target
< 5 %). The load average is printed with the numbers. Run from the repository root:

    nice -n 10 python benchmarks/study.py [--study manifests/study-sample.yaml]
        [--set train.steps=20 ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivifbench import __version__  # noqa: E402
from ivifbench.eval import run_eval  # noqa: E402
from ivifbench.plots import write_plots  # noqa: E402
from ivifbench.report import load_tables, summarise, write_report  # noqa: E402
from ivifdata.build import build  # noqa: E402
from ivifdata.imageio import read_image, write_png  # noqa: E402
from ivifmodels.fuse import fuse_images  # noqa: E402
from ivifmodels.study.plan import StudyPlan, plan_study  # noqa: E402
from ivifmodels.study.run import StudyRunner, steps_per_epoch  # noqa: E402
from ivifmodels.study.spec import load_study  # noqa: E402
from ivifmodels.train import TrainConfig, Trainer  # noqa: E402
from ivifmodels.weights import load_released  # noqa: E402


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def by_hand(plan: StudyPlan, out: Path) -> None:
    """The study's work through the library calls, without the study's bookkeeping."""
    study = plan.study
    steps, batch = study.get("train.steps"), study.get("train.batch")
    banks = {}
    for variant in study.variants:
        if variant.digest not in banks:
            banks[variant.digest] = out / "builds" / variant.digest[:16]
            build(variant.recipe, banks[variant.digest])
    ev = study.get("evaluation")
    for cell in study.cells:
        bank = banks[cell.variant.digest]
        n = json.loads((bank / "build.json").read_text())["n"]
        config = TrainConfig(
            model=cell.model,
            shards=str(bank),
            epochs=math.ceil(steps / steps_per_epoch(cell.variant, n, batch)),
            batch=batch,
            lr=float(study.get("train.lr")),
            seed=cell.seed,
            pair_seed=cell.seed,
            max_steps=steps,
            checkpoint_every=study.get("train.checkpoint_every"),
        )
        run = out / "runs" / cell.method
        Trainer(config, run, progress_bar=False).run()
        model = load_released(cell.model, run / "model.pt")
        for t in plan.tests:
            ir, vis = read_image(t.ir, to_8bit=True), read_image(t.vis, to_8bit=True)
            image, _ = fuse_images(
                model, ir, vis, gray=ev["gray"], tile=ev["tile"], stride=ev["stride"]
            )
            folder = out / "fused" / t.dataset / cell.method
            folder.mkdir(parents=True, exist_ok=True)
            write_png(folder / f"{t.id}.png", image)
    runner = StudyRunner(plan, out / "unused")
    table = out / "per_image.csv"
    for dataset in plan.datasets:
        tests = [t for t in plan.tests if t.dataset == dataset]
        run_eval(
            out / "fused" / dataset,
            tests[0].ir.parent,
            tests[0].vis.parent,
            table,
            dataset=dataset,
            convention=ev["convention"],
            metrics=runner.metrics(),
            version=__version__,
            cache_path=out / "cache.sqlite",
            progress=False,
        )
    summary = summarise(load_tables([table]))
    write_report(summary, out / "report", ["csv", "latex", "md"])
    methods = [c.method for c in study.cells]
    write_plots(load_tables([table]), summary.metrics, methods, ev["convention"], out / "report")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", default=str(ROOT / "manifests" / "study-sample.yaml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    study = load_study(args.study, args.overrides)
    plan = plan_study(study)  # also timed again inside the study's run below
    print(
        f"{args.study} {' '.join(args.overrides)}: {len(study.cells)} cells x "
        f"{study.get('train.steps')} steps, {len(plan.tests)} test pairs; "
        f"{os.cpu_count()} cores, load before {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), cpu_seconds()
        by_hand(plan, Path(tmp) / "hand")
        hand_wall, hand_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        print(
            f"by hand: {hand_wall:.1f} s wall, {hand_cpu:.1f} s CPU (load {os.getloadavg()[0]:.2f})"
        )
        wall, cpu = time.perf_counter(), cpu_seconds()
        state = StudyRunner(plan_study(study), Path(tmp) / "study", display=False).run()
        study_wall, study_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        print(
            f"study:   {study_wall:.1f} s wall, {study_cpu:.1f} s CPU "
            f"(load {os.getloadavg()[0]:.2f})"
        )
    for name, record in state["stages"].items():
        print(f"  {name:<7} {record['seconds']:8.1f} s")
    print(
        f"overhead: wall {study_wall / hand_wall - 1:+.1%}, CPU {study_cpu / hand_cpu - 1:+.1%} "
        "(target < 5 %; the study's plan, copies, digests and extra report files included)"
    )


if __name__ == "__main__":
    main()
