"""``ivifbench eval`` on real images: values, cache, appending, problems, exit codes."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import ivifbench.eval as eval_module
from ivifbench import CONVENTIONS, __version__, compute
from ivifbench.cli import main
from ivifbench.eval import read_table
from ivifdata.imageio import read_image


def same(a: float, b: float) -> bool:
    """Bit-identical floats, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_table_holds_exactly_what_compute_returns(eval_data, evaluate, tmp_path: Path) -> None:
    out = tmp_path / "per_image.csv"
    tang = CONVENTIONS["tang"]
    metric_columns = [m for m in tang.default_metrics if m in tang.implementations]
    summary = evaluate(eval_data, "msrs", out, convention="tang", metrics=metric_columns)
    table = read_table(out)
    methods = ["CNN", "CNNcolor", "GAN", "Trans", "lap"]  # .png .jpg (RGB) .png .png .bmp
    assert list(table["method"].unique()) == methods
    assert len(table) == 10 == summary.evaluated
    assert set(table["convention"]) == {"tang"} and set(table["version"]) == {__version__}
    assert list(table.columns[3 : 3 + len(metric_columns)]) == metric_columns
    for _, row in table.iterrows():
        fused, ir, vis = (out.parent / row[c] for c in ("fused_file", "ir_file", "vis_file"))
        assert fused.parent.name == row["method"] and fused.stem == ir.stem == vis.stem
        direct = compute(
            read_image(fused), read_image(ir), read_image(vis), metric_columns, convention="tang"
        )
        assert list(direct) == metric_columns
        for metric, value in direct.items():
            assert same(row[metric], value), (row["method"], row["image"], metric)
    colour = table[table["method"] == "CNNcolor"].iloc[0]
    assert read_image(out.parent / colour["fused_file"]).ndim == 3  # RGB fused was evaluated
    assert read_image(out.parent / colour["vis_file"]).ndim == 3  # with RGB VIS


def test_workers_give_the_same_table(eval_data, evaluate, tmp_path: Path) -> None:
    serial, parallel = tmp_path / "serial.csv", tmp_path / "parallel.csv"
    evaluate(eval_data, "roadscene", serial, workers=1)
    evaluate(eval_data, "roadscene", parallel, workers=2)
    assert serial.read_text() == parallel.read_text()


def test_rerun_reuses_cached_values(
    dataset_dirs_files, eval_copy, evaluate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = eval_copy
    cache, out = tmp_path / "cache.sqlite", tmp_path / "per_image.csv"
    first = evaluate(data, "roadscene", out, cache_path=cache)
    assert (first.from_cache, first.computed) == (0, 4)
    reference = out.read_text()

    def no_compute(*args, **kwargs):
        raise AssertionError("compute called although every value is cached")

    monkeypatch.setattr(eval_module, "compute", no_compute)
    second = evaluate(data, "roadscene", out, cache_path=cache)
    assert (second.from_cache, second.computed) == (4, 0)
    assert out.read_text() == reference

    # keyed by content: the same images elsewhere are still cached
    moved = tmp_path / "moved"
    shutil.copytree(data, moved)
    assert evaluate(moved, "roadscene", tmp_path / "moved.csv", cache_path=cache).computed == 0

    # a changed file, another convention or another metric are computed again
    monkeypatch.undo()
    fused = data / "roadscene/results/lap/FLIR_00006.tif"
    pixels = read_image(fused)
    Image.fromarray(255 - pixels).save(fused)
    third = evaluate(data, "roadscene", out, cache_path=cache)
    assert (third.from_cache, third.computed) == (3, 1)
    changed = read_table(out).set_index(["method", "image"]).loc[("lap", "FLIR_00006")]
    assert changed["SD"] == compute(fused, *dataset_dirs_files(data, "FLIR_00006"))["SD"]
    assert (
        evaluate(
            data,
            "roadscene",
            tmp_path / "t.csv",
            convention="tang",
            metrics=["EN", "MI"],
            cache_path=cache,
        ).computed
        == 4
    )
    extra = evaluate(data, "roadscene", tmp_path / "m.csv", metrics=["EN", "SD"], cache_path=cache)
    assert extra.computed == 0  # stored per metric: a subset needs nothing new


@pytest.fixture
def dataset_dirs_files(dataset_dirs):
    """``dataset_dirs_files(root, stem)``: IR and VIS files of a roadscene stem under ``root``."""

    def files(root: Path, stem: str) -> tuple[Path, Path]:
        _, ir, vis = dataset_dirs(root, "roadscene")
        return ir / f"{stem}.png", vis / f"{stem}.png"

    return files


def test_new_method_is_appended(dataset_dirs, eval_copy, evaluate, tmp_path: Path) -> None:
    data = eval_copy
    out = tmp_path / "per_image.csv"
    evaluate(data, "roadscene", out)
    trans = data / "msrs/results/Trans"
    trans_moved = tmp_path / "Trans"
    shutil.move(trans, trans_moved)
    evaluate(data, "msrs", out)
    before = read_table(out)
    assert "Trans" not in set(before["method"])

    shutil.move(trans_moved, trans)
    results, ir, vis = dataset_dirs(data, "msrs")
    only_trans = tmp_path / "only_trans"
    only_trans.mkdir()
    shutil.copytree(trans, only_trans / "Trans")
    summary = eval_module.run_eval(
        only_trans,
        ir,
        vis,
        out,
        dataset="msrs",
        convention="cddfuse",
        metrics=list(before.columns[3:15]),
        version=__version__,
        progress=False,
    )
    after = read_table(out)
    assert summary.kept_rows == len(before) == 12 and len(after) == 14
    old = after[after["method"] != "Trans"].reset_index(drop=True)
    assert old.equals(before)
    assert sorted(after.loc[after["method"] == "Trans", "image"]) == ["00004N", "00055D"]


@pytest.fixture
def break_dataset(dataset_dirs):
    """``break_dataset(data)``: every kind of input problem, on a copy of the msrs fixture."""

    def damage(data: Path) -> None:
        results, ir, vis = dataset_dirs(data, "msrs")
        (results / "CNN/00055D.png").unlink()  # missing_fused
        (results / "GAN/notes.txt").write_text("not an image")  # extra_file (extension)
        shutil.copy(results / "GAN/00004N.png", results / "GAN/99999X.png")  # extra_file (no pair)
        (results / "Trans/00055D.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")  # unreadable
        small = read_image(results / "lap/00004N.bmp")[:64, :80]
        Image.fromarray(small).save(results / "lap/00004N.bmp")  # size_mismatch
        shutil.copy(results / "CNN/00004N.png", results / "CNNcolor/00004N.png")  # duplicate_stem
        shutil.copy(ir / "00004N.png", ir / "00001N.png")  # missing_source (no VIS)
        (results / "readme.txt").write_text("fused with default settings")  # extra_file (RESULTS)
        (results / "CNN/.DS_Store").write_bytes(b"\0\0")  # hidden: ignored, no problem
        sixteen = read_image(results / "GAN/00055D.png").astype(np.uint16) * 257
        Image.fromarray(sixteen).save(results / "GAN/00055D.png")  # invalid_input (16-bit)

    return damage


EXPECTED_PROBLEMS = {
    ("missing_fused", "CNN", "00055D"),
    ("extra_file", "GAN", ""),
    ("extra_file", "GAN", "99999X"),
    ("unreadable", "Trans", "00055D"),
    ("size_mismatch", "lap", "00004N"),
    ("duplicate_stem", "CNNcolor", "00004N"),
    ("missing_source", "", "00001N"),
    ("invalid_input", "GAN", "00055D"),
    ("extra_file", "", ""),
}


def test_problems_are_listed_and_the_rest_is_evaluated(
    break_dataset, eval_copy, evaluate, tmp_path: Path
) -> None:
    data = eval_copy
    break_dataset(data)
    out = tmp_path / "per_image.csv"
    summary = evaluate(data, "msrs", out)
    found = {(p.kind, p.method, p.image) for p in summary.problems}
    assert found == EXPECTED_PROBLEMS
    assert sum(p.kind == "duplicate_stem" for p in summary.problems) == 2  # both files named
    evaluated = {tuple(r) for r in read_table(out)[["method", "image"]].to_numpy()}
    assert evaluated == {
        ("CNN", "00004N"),
        ("CNNcolor", "00055D"),
        ("GAN", "00004N"),
        ("Trans", "00004N"),
        ("lap", "00055D"),
    }
    report = pd.read_csv(tmp_path / "per_image.problems.csv", dtype=str, keep_default_na=False)
    assert {tuple(r) for r in report[["kind", "method", "image"]].to_numpy()} == found
    unreadable = report[report["kind"] == "unreadable"].iloc[0]
    assert unreadable["file"].endswith("Trans/00055D.png") and unreadable["detail"]
    mismatch = report[report["kind"] == "size_mismatch"].iloc[0]
    assert "fused 80x64, IR 96x72, VIS 96x72" in mismatch["detail"]


@pytest.fixture
def cli_eval(dataset_dirs):
    """``cli_eval(data, out, *extra)``: ``ivifbench eval`` of the msrs results under ``data``."""

    def run(data: Path, out: Path, *extra: str):
        results, ir, vis = dataset_dirs(data, "msrs")
        args = [
            "eval",
            str(results),
            "--ir",
            str(ir),
            "--vis",
            str(vis),
            "-o",
            str(out),
            "--workers",
            "1",
            "--no-cache",
            *extra,
        ]
        return CliRunner().invoke(main, args)

    return run


def test_cli_exit_status_is_nonzero_only_with_strict(
    break_dataset, cli_eval, eval_copy, tmp_path: Path
) -> None:
    data = eval_copy
    assert cli_eval(data, tmp_path / "clean.csv", "--strict").exit_code == 0
    break_dataset(data)
    relaxed = cli_eval(data, tmp_path / "a.csv")
    assert relaxed.exit_code == 0, relaxed.output
    assert "problems: 10 (" in relaxed.output and "missing_fused 1" in relaxed.output
    assert "CNN/00055D" in relaxed.output and "5 image(s) evaluated" in relaxed.output
    strict = cli_eval(data, tmp_path / "b.csv", "--strict")
    assert strict.exit_code == 1
    assert (tmp_path / "b.csv").exists()  # the table is still written


def test_metric_warnings_are_reported_but_not_failures(
    cli_eval, dataset_dirs, eval_copy, tmp_path: Path
) -> None:
    data = eval_copy
    results, _, _ = dataset_dirs(data, "msrs")
    Image.fromarray(np.full((72, 96), 128, np.uint8)).save(results / "GAN/00004N.png")
    result = cli_eval(data, tmp_path / "w.csv", "--strict")
    assert result.exit_code == 0, result.output
    assert "metric_warning" in result.output and "CC" in result.output
    row = read_table(tmp_path / "w.csv").set_index(["method", "image"]).loc[("GAN", "00004N")]
    assert math.isnan(row["CC"]) and not math.isnan(row["EN"])


def test_usage_errors_exit_2(dataset_dirs, eval_data, tmp_path: Path) -> None:
    results, ir, vis = dataset_dirs(eval_data, "msrs")
    out = str(tmp_path / "o.csv")
    base = ["eval", str(results), "--ir", str(ir), "--vis", str(vis), "-o", out, "--no-cache"]
    runner = CliRunner()
    cases = {
        "missing --vis": ["eval", str(results), "--ir", str(ir), "-o", out],
        "no such RESULTS": [
            "eval",
            str(tmp_path / "nope"),
            "--ir",
            str(ir),
            "--vis",
            str(vis),
            "-o",
            out,
        ],
        "unknown metric": [*base, "--metrics", "EN,NOPE"],
        "metric not in convention": [*base, "--metrics", "Nabf"],
        "unknown convention": [*base, "--convention", "matlab"],
        "zero workers": [*base, "--workers", "0"],
        "RESULTS without method folders": [
            "eval",
            str(ir),
            "--ir",
            str(ir),
            "--vis",
            str(vis),
            "-o",
            out,
            "--no-cache",
        ],
        "no source pairs": [
            "eval",
            str(results),
            "--ir",
            str(ir),
            "--vis",
            str(dataset_dirs(eval_data, "roadscene")[2]),
            "-o",
            out,
            "--no-cache",
        ],
    }
    for name, args in cases.items():
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (name, result.output)
        assert "Traceback" not in result.output
    assert not Path(out).exists()


def test_existing_table_of_another_convention_is_refused(
    dataset_dirs, eval_data, evaluate, tmp_path: Path
) -> None:
    out = tmp_path / "o.csv"
    evaluate(eval_data, "roadscene", out, convention="tang", metrics=["EN", "MI"])
    before = out.read_text()
    results, ir, vis = dataset_dirs(eval_data, "roadscene")
    args = ["eval", str(results), "--ir", str(ir), "--vis", str(vis), "-o", str(out), "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "holds convention tang" in result.output and str(out) in result.output
    metrics = CliRunner().invoke(main, [*args, "--convention", "tang", "--metrics", "EN"])
    assert metrics.exit_code == 2 and "has metrics" in metrics.output
    assert out.read_text() == before
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = CliRunner().invoke(main, [*args[:-2], str(empty), "--no-cache"])
    assert (
        result.exit_code == 2 and str(empty) in result.output and "Traceback" not in result.output
    )


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_device_cpu_batches_give_the_numpy_table_and_problems(
    break_dataset, cli_eval, dataset_dirs, eval_copy, tmp_path: Path, convention: str
) -> None:
    """``--device cpu --batch-size 3``: every default metric by torch, in batches of one image
    shape; the same table (metrics to 1e-8, everything else identical), the same problems
    report byte for byte (NaN warnings, a pair too small for VIF refused as numpy refuses it)."""
    data = eval_copy
    break_dataset(data)
    results, ir, vis = dataset_dirs(data, "msrs")
    Image.fromarray(np.full((72, 96), 128, np.uint8)).save(results / "GAN/00004N.png")
    for folder, image in (
        (ir, read_image(ir / "00004N.png")),
        (vis, read_image(vis / "00004N.png")),
    ):
        Image.fromarray(image[:30, :30]).save(folder / "00002N.png")
    for method in ("CNN", "GAN"):
        Image.fromarray(read_image(results / f"{method}/00004N.png")[:30, :30]).save(
            results / f"{method}/00002N.png"
        )
    base = ["--convention", convention]
    numpy_run = cli_eval(data, tmp_path / "numpy.csv", *base)
    torch_run = cli_eval(
        data, tmp_path / "torch.csv", *base, "--device", "cpu", "--batch-size", "3"
    )
    assert numpy_run.exit_code == 0 == torch_run.exit_code, torch_run.output
    expected, got = read_table(tmp_path / "numpy.csv"), read_table(tmp_path / "torch.csv")
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected) > 0
    metrics = list(CONVENTIONS[convention].default_metrics)
    text = [c for c in got.columns if c not in metrics]
    assert got[text].equals(expected[text])
    for metric in metrics:
        for want, value in zip(expected[metric], got[metric], strict=True):
            assert same(want, value) or math.isclose(want, value, rel_tol=1e-8), metric
    problems = [(tmp_path / f"{name}.problems.csv").read_bytes() for name in ("numpy", "torch")]
    assert problems[0] == problems[1]
    assert b"00002N" in problems[0]
    # vifb refuses the gray constant fused image with colour VIS; the others warn about NaN
    assert (b"metric_warning" in problems[0]) == (convention != "vifb")


def test_batch_size_needs_device_and_defaults_to_eval_s(cli_eval, eval_data, tmp_path) -> None:
    from ivifbench.cli import eval_command

    default = next(p.default for p in eval_command.params if p.name == "batch_size")
    assert default == eval_module.DEFAULT_BATCH_SIZE
    result = cli_eval(eval_data, tmp_path / "o.csv", "--batch-size", "4")
    assert result.exit_code == 2 and "error: --batch-size needs --device" in result.output
    zero = cli_eval(eval_data, tmp_path / "o.csv", "--device", "cpu", "--batch-size", "0")
    assert zero.exit_code == 2 and not (tmp_path / "o.csv").exists()


def test_device_cuda_without_cuda_is_a_usage_error(cli_eval, eval_data, tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = cli_eval(eval_data, tmp_path / "o.csv", "--device", "cuda")
    assert result.exit_code == 2
    assert "error: --device" in result.output and "CUDA is not available" in result.output
    bad = cli_eval(eval_data, tmp_path / "o.csv", "--device", "nonsense")
    assert bad.exit_code == 2 and "error: --device" in bad.output
