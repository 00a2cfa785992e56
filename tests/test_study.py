"""``ivifmodels study``: validation, end to end, resume after a kill, changed study files.

The study here is tiny (2 paradigms x 1 model, a few steps of 4 pairs of 32 px patches, two
MSRS test pairs of the bundled sample, trained on its RoadScene pairs).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from ivifdata.imageio import read_image, write_png
from ivifmodels.cli import main
from ivifmodels.study import run as study_run
from ivifmodels.study.plan import plan_study
from ivifmodels.study.report import holm
from ivifmodels.study.run import StudyRunner
from ivifmodels.study.spec import load_study

REPORT_FILES = ("table.md", "table.tex", "table.csv", "per_image.csv", "significance.csv")

TINY = {
    "name": "tiny",
    "data": {
        "root": "package:sample",
        "train": {"dataset": "roadscene"},
        "test": {"dataset": "msrs", "split": "test", "list": "test.txt"},
    },
    "recipe": {
        "patch": {"size": 32, "stride": 32, "min_std": 2.0},
        "subset": {"n": 12, "seed": 0},
        "pairing": {"ratio": 2},
    },
    "paradigms": {"sptp": {"pairing.mode": "strict"}, "aptp": {"pairing.mode": "arbitrary"}},
    "models": ["cnn"],
    "seeds": [0],
    "train": {"steps": 5, "batch": 4, "checkpoint_every": 2},
    "evaluation": {"metrics": ["EN", "SD", "Qabf"], "tile": 64, "stride": 64},
}


def write_study(folder: Path, **changes) -> Path:
    """The tiny study (with top-level ``changes``) and its test list, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.txt").write_text("msrs/test/ir/00004N.png\nmsrs/test/ir/00055D.png\n")
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump({**TINY, **changes}, sort_keys=False))
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def report_of(outdir: Path) -> dict[str, str]:
    """Report texts and the model digests of every cell (what must match after a resume)."""
    out = {name: (outdir / "report" / name).read_text() for name in REPORT_FILES}
    state = json.loads((outdir / "study.json").read_text())
    out["models"] = json.dumps({k: v["model_digest"] for k, v in state["cells"].items()})
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run of the tiny study."""
    folder = tmp_path_factory.mktemp("reference")
    result = invoke("study", str(write_study(folder)), "-o", str(folder / "out"))
    assert result.exit_code == 0, result.output
    return folder / "out"


@pytest.mark.slow
def test_end_to_end_writes_the_report(reference: Path):
    report = reference / "report"
    table = (report / "table.md").read_text()
    assert "| Model | Paradigm | n |" in table
    assert "| cnn | sptp | 1 |" in table and "| cnn | aptp | 1 |" in table
    assert "over seeds" in table.splitlines()[0]
    assert (report / "curves_cnn.png").stat().st_size > 1000
    assert (report / "grid_msrs_cnn.png").stat().st_size > 1000
    tests = (report / "significance.csv").read_text().splitlines()
    assert len(tests) == 1 + 3  # header + one sptp/aptp comparison per metric
    state = json.loads((reference / "study.json").read_text())
    assert all(state["stages"][s]["state"] == "done" for s in study_run.STAGES)
    assert {c["step"] for c in state["cells"].values()} == {5}
    # identical recipes share one build: two paradigms, two recipes, two builds
    assert len(state["stages"]["build"]["builds"]) == 2
    status = invoke("study-status", str(reference))
    assert status.exit_code == 0 and "cell sptp/cnn/s0: done (step 5" in status.output


class Killed(Exception):
    """Stands for a SIGKILL inside a stage."""


def _kill_in_training(monkeypatch):
    original = StudyRunner._on_step
    seen = []

    def on_step(self, record):
        original(self, record)
        seen.append(record["step"])
        if len(seen) == 8:  # step 3 of the second cell: its last checkpoint is step 2
            raise Killed

    monkeypatch.setattr(StudyRunner, "_on_step", on_step)


def _kill_in_fuse(monkeypatch):
    calls = []
    original = StudyRunner._fuse_method

    def fuse(self, *args):
        calls.append(args)
        if len(calls) == 2:
            raise Killed
        original(self, *args)

    monkeypatch.setattr(StudyRunner, "_fuse_method", fuse)


def _kill_in_report(monkeypatch):
    def report(*args):
        raise Killed

    monkeypatch.setattr("ivifmodels.study.report.write_study_report", report)


@pytest.mark.slow
@pytest.mark.parametrize("kill", [_kill_in_training, _kill_in_fuse, _kill_in_report])
def test_killed_then_rerun_gives_the_identical_report(kill, reference, tmp_path, monkeypatch):
    path = write_study(tmp_path)
    with monkeypatch.context() as patch:
        kill(patch)
        plan = plan_study(load_study(path))
        with pytest.raises(Killed):
            StudyRunner(plan, tmp_path / "out", display=False).run()
    assert not (tmp_path / "out" / "report" / "table.md").exists()
    result = invoke("study", str(path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert report_of(tmp_path / "out") == report_of(reference)


@pytest.mark.slow
def test_sigkill_mid_training_then_rerun(reference, tmp_path):
    path = write_study(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ivifmodels", "study", str(path), "-o", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = out / "runs" / "aptp" / "cnn" / "s0" / "log.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_file() and log.read_text().count('"kind": "step"') >= 3:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    result = invoke("study", str(path), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert report_of(out) == report_of(reference)


@pytest.mark.slow
def test_changed_study_is_refused_unless_forced(reference, tmp_path):
    path = write_study(tmp_path, train={**TINY["train"], "steps": 6})
    result = invoke("study", str(path), "-o", str(reference))
    assert result.exit_code == 2
    assert "error:" in result.output and "train.steps: changed from 5 to 6" in result.output
    changed = write_study(
        tmp_path / "p",
        paradigms={**TINY["paradigms"], "sptp": {"pairing.mode": "strict", "subset.n": 8}},
    )
    result = invoke("study", str(changed), "-o", str(reference))
    assert result.exit_code == 2 and "subset.n: changed from 12 to 8" in result.output
    # the reference is untouched by the refusals; --force retrains the changed cells
    forced = invoke("study", str(path), "-o", str(reference), "--force")
    assert forced.exit_code == 0, forced.output
    state = json.loads((reference / "study.json").read_text())
    assert {c["step"] for c in state["cells"].values()} == {6}
    restored = invoke("study", str(write_study(tmp_path / "r")), "-o", str(reference), "--force")
    assert restored.exit_code == 0


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"epochs": 3}, "epochs: unknown key"),
        ({"models": ["cnn", "unet"]}, "models: unknown model 'unet'"),
        ({"data": {**TINY["data"], "test": {"dataset": "llvip"}}}, "data.test.dataset"),
        ({"data": {**TINY["data"], "test": {"dataset": "roadscene"}}}, "data.test: 4 of 4"),
        (
            {"paradigms": {"sptp": {"pairing.mode": "strict", "train.steps": 3}}},
            "paradigms.sptp: train: unknown key",
        ),
        ({"paradigms": {"sptp": {"pairing.epochs": 3}}}, "paradigms.sptp.pairing.epochs"),
        ({"train": {"batch": 4}}, "train.steps: required key"),
        ({"references": {"vis": "nowhere"}}, "references.vis: "),
        ({"references": {"cnn": "."}}, "references.cnn: name clashes with a trained row"),
    ],
)
def test_bad_study_gives_one_error_and_writes_nothing(tmp_path, changes, key):
    path = write_study(tmp_path, **changes)
    result = CliRunner().invoke(main, ["study", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and key in errors[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def _reference_folder(tmp_path: Path, *, skip: str = "") -> tuple[Path, list]:
    """A folder of 'fused' images for the tiny study's test pairs (their VIS images, under
    ``msrs/``, except ``skip``), and the test pairs."""
    tests = plan_study(load_study(write_study(tmp_path / "plain"))).tests
    refs = tmp_path / "refs"
    (refs / "msrs").mkdir(parents=True)
    for t in tests:
        if t.id != skip:
            shutil.copyfile(t.vis, refs / "msrs" / f"{t.id}{t.vis.suffix}")
    return refs, tests


def test_reference_folder_missing_a_test_image_is_refused(tmp_path):
    refs, _ = _reference_folder(tmp_path, skip="00055D")
    path = write_study(tmp_path, references={"visible": str(refs)})
    result = invoke("study", str(path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert "references.visible: no image for 1 of 2 test pair(s)" in result.output
    assert "(e.g. msrs/00055D)" in result.output and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_reference_rows_are_copied_evaluated_and_refreshed(reference, tmp_path):
    """A ``references:`` row is copied beside the trained rows, evaluated and reported; a
    changed image of its folder is copied and evaluated again on the next run."""
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    refs, tests = _reference_folder(tmp_path)
    path = write_study(tmp_path, references={"visible": str(refs)})
    result = invoke("study", str(path), "-o", str(out))
    assert result.exit_code == 0, result.output
    fused = out / "fused" / "msrs" / "visible"
    assert sorted(p.name for p in fused.iterdir()) == sorted(f"{t.id}.png" for t in tests)
    assert "| reference | visible | 1 |" in (out / "report" / "table.md").read_text()
    rows = (out / "report" / "per_image.csv").read_text()
    assert rows.count("\nmsrs,reference,visible,,visible,") == len(tests)
    changed = refs / "msrs" / "00004N.png"
    write_png(changed, 255 - read_image(changed))
    again = invoke("study", str(path), "-o", str(out))
    assert again.exit_code == 0, again.output
    assert (fused / "00004N.png").read_bytes() == changed.read_bytes()
    assert (out / "report" / "per_image.csv").read_text() != rows
    assert report_of(out)["models"] == report_of(reference)["models"]  # nothing retrained


def test_shipped_study_files_validate():
    manifests = Path(__file__).resolve().parents[1] / "manifests"
    names = sorted(p.name for p in manifests.glob("study-*.yaml"))
    assert names == ["study-laptop.yaml", "study-msrs.yaml", "study-sample.yaml"]
    cells = {name: len(load_study(manifests / name).cells) for name in names}
    assert cells == {"study-laptop.yaml": 8, "study-msrs.yaml": 27, "study-sample.yaml": 9}


def test_unknown_set_key_is_an_error(tmp_path):
    path = write_study(tmp_path)
    result = invoke("study", str(path), "-o", str(tmp_path / "out"), "--set", "trian.steps=3")
    assert result.exit_code == 2 and "trian.steps: unknown key" in result.output
    assert not (tmp_path / "out").exists()


def test_sweep_expands_into_variants_sharing_identical_builds(tmp_path):
    path = write_study(
        tmp_path,
        paradigms={
            "sptp": {"pairing.mode": "strict"},
            "aptp": {"pairing.mode": "arbitrary", "subset.n": [8, 12]},
            "same": {"pairing.mode": "strict"},
        },
    )
    study = load_study(path)
    assert [v.label for v in study.variants] == [
        "sptp",
        "aptp[subset.n=8]",
        "aptp[subset.n=12]",
        "same",
    ]
    assert len({v.digest for v in study.variants}) == 3  # sptp and same: one recipe
    assert len(study.cells) == 4


@pytest.mark.skipif(torch.cuda.is_available(), reason="tests the no-CUDA path")
def test_cuda_without_cuda_fails_cleanly(tmp_path):
    result = invoke(
        "study", str(write_study(tmp_path)), "-o", str(tmp_path / "o"), "--device", "cuda"
    )
    assert result.exit_code == 2 and "error: --device cuda" in result.output
    assert not (tmp_path / "o").exists()


def test_holm_matches_its_definition():
    # p sorted 0.01 < 0.02 < 0.04: x3, x2, x1 -> 0.03, 0.04, 0.04 (monotone), original order
    assert holm([0.04, 0.01, 0.02]).tolist() == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.6]).tolist() == [1.0, 1.0]
    nan_kept = holm([float("nan"), 0.01, 0.02])  # an undefined test is not a comparison
    assert math.isnan(nan_kept[0]) and nan_kept[1:].tolist() == pytest.approx([0.02, 0.02])
