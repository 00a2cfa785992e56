"""Standard test splits: the shipped lists, ``eval --split`` and the split in the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ivifbench.cli import main
from ivifbench.eval import read_table
from ivifbench.splits import SPLITS_DIR, SplitError, available_splits, load_split, parse_split

DEMO_SPLIT = Path(__file__).resolve().parent / "data" / "splits" / "msrs-demo.txt"


def test_shipped_splits_have_their_published_sizes_and_provenance() -> None:
    sizes = {
        "tno-25": 25,
        "tno-42": 42,
        "roadscene-50": 50,
        "vifb-21": 21,
        "msrs-test": 361,
        "m3fd-300": 300,
        "llvip-test": 3463,
    }
    assert available_splits() == sorted(sizes)
    readme = (SPLITS_DIR / "README.md").read_text()
    for name, size in sizes.items():
        split = load_split(name)
        assert split.name == name and len(split.stems) == size
        assert f"`{name}` | {size} |" in readme
        header = (SPLITS_DIR / f"{name}.txt").read_text().splitlines()[:2]
        assert header[0] == f"# {name}: {size} image stems, one per line"
        assert re.fullmatch(r"# source: github\.com/[\w.-]+/[\w.-]+ @ [0-9a-f]{40}.*", header[1])
    assert load_split("tno-42").stems[:3] == ("01", "02", "03")
    assert load_split("roadscene-50").stems[-1] == "FLIR_video_02829"
    assert "carLight" in load_split("vifb-21").stems


@pytest.mark.parametrize(
    ("name", "pattern", "first", "last"),
    [
        ("msrs-test", r"\d{5}[DN]", "00004N", "01603D"),
        ("m3fd-300", r"\d{5}", "00000", "04160"),
        ("llvip-test", r"\d{6}", "190001", "260536"),
    ],
)
def test_large_splits_are_sorted_stems_of_their_dataset(
    name: str, pattern: str, first: str, last: str
) -> None:
    stems = load_split(name).stems
    assert all(re.fullmatch(pattern, s) for s in stems)
    assert list(stems) == sorted(stems) and (stems[0], stems[-1]) == (first, last)


def test_bundled_real_samples_fall_in_their_split() -> None:
    data = Path(__file__).resolve().parent / "data"
    msrs_test = set(load_split("msrs-test").stems)
    bundled = {
        f.stem
        for d in ("eval/msrs/ir", "models/msrs/ir", "datasets/msrs/test/ir")
        for f in (data / d).glob("*.png")
    }
    assert bundled == {"00004N", "00020N", "00055D"} and bundled <= msrs_test
    assert set(load_split(str(DEMO_SPLIT)).stems) <= msrs_test
    llvip_test = set(load_split("llvip-test").stems)
    train = {f.stem for f in (data / "datasets/llvip/infrared/train").glob("*.jpg")}
    assert train == {"010001"} and not train & llvip_test  # a train pair is not a test pair
    # the 12 test pairs bupt-ai-cz/LLVIP ships in FusionGAN/Test_LLVIP_ir
    assert {"190001", "190006", "200002", "200007"} <= llvip_test
    # M3FD_Fusion stems are M3FD indices with gaps; TarDAL's sample 00471 is not one of them
    m3fd = load_split("m3fd-300").stems
    assert m3fd[:3] == ("00000", "00011", "00025") and "00471" not in m3fd


def test_split_files_are_parsed_and_checked(tmp_path: Path) -> None:
    assert parse_split("# c\n\na\n b \n", "x").stems == ("a", "b")
    with pytest.raises(SplitError, match="lists no image"):
        parse_split("# only a comment\n", "x")
    with pytest.raises(SplitError, match="a more than once"):
        parse_split("a\nb\na\n", "x")
    with pytest.raises(SplitError, match="neither a shipped split"):
        load_split("no-such-split")
    assert load_split(str(DEMO_SPLIT)).name == "msrs-demo"


def cli_eval(results: Path, ir: Path, vis: Path, out: Path, *extra: str):
    args = ["eval", str(results), "--ir", str(ir), "--vis", str(vis), "-o", str(out)]
    return CliRunner().invoke(main, [*args, "--workers", "1", "--no-cache", *extra])


def test_missing_split_images_are_reported_and_fail_strict(
    dataset_dirs, eval_data, tmp_path: Path
) -> None:
    results, ir, vis = dataset_dirs(eval_data, "msrs")
    out = tmp_path / "per_image.csv"
    relaxed = cli_eval(results, ir, vis, out, "--split", str(DEMO_SPLIT))
    assert relaxed.exit_code == 0, relaxed.output
    assert "split msrs-demo: 2 of its images present, 1 missing" in relaxed.output
    problems = pd.read_csv(tmp_path / "per_image.problems.csv", dtype=str, keep_default_na=False)
    missing = problems[problems["kind"] == "missing_split"]
    assert list(missing["image"]) == ["00020N"] and "msrs-demo" in missing["detail"].iloc[0]
    table = read_table(out)
    assert set(table["split"]) == {"msrs-demo"} and len(table) == 10
    strict = cli_eval(
        results, ir, vis, tmp_path / "strict.csv", "--split", str(DEMO_SPLIT), "--strict"
    )
    assert strict.exit_code == 1 and (tmp_path / "strict.csv").exists()


def test_split_restricts_the_evaluation_without_extra_file_problems(
    dataset_dirs, eval_data, tmp_path: Path
) -> None:
    split = tmp_path / "one.txt"
    split.write_text("00055D\n")
    results, ir, vis = dataset_dirs(eval_data, "msrs")
    result = cli_eval(results, ir, vis, tmp_path / "o.csv", "--split", str(split), "--strict")
    assert result.exit_code == 0, result.output
    assert "1 source pair(s) outside the split not evaluated" in result.output
    assert set(read_table(tmp_path / "o.csv")["image"]) == {"00055D"}


def test_split_usage_errors_exit_2(dataset_dirs, eval_data, tmp_path: Path) -> None:
    results, ir, vis = dataset_dirs(eval_data, "msrs")
    unknown = cli_eval(results, ir, vis, tmp_path / "a.csv", "--split", "no-such-split")
    assert unknown.exit_code == 2 and "error: --split:" in unknown.output
    none_present = tmp_path / "none.txt"
    none_present.write_text("99999X\n")
    empty = cli_eval(results, ir, vis, tmp_path / "b.csv", "--split", str(none_present))
    assert empty.exit_code == 2 and "no image of split none" in empty.output
    assert "Traceback" not in unknown.output + empty.output
    assert not (tmp_path / "a.csv").exists() and not (tmp_path / "b.csv").exists()


def test_rows_of_one_dataset_share_one_split(dataset_dirs, eval_copy, tmp_path: Path) -> None:
    data = eval_copy
    results, ir, vis = dataset_dirs(data, "msrs")
    out = tmp_path / "per_image.csv"
    first = cli_eval(results, ir, vis, out, "--split", str(DEMO_SPLIT), "--dataset", "msrs")
    assert first.exit_code == 0
    only_gan = tmp_path / "only_gan"
    (only_gan / "GAN").mkdir(parents=True)
    for f in (results / "GAN").iterdir():
        (only_gan / "GAN" / f.name).write_bytes(f.read_bytes())
    before = out.read_text()
    other = cli_eval(only_gan, ir, vis, out, "--dataset", "msrs")
    assert other.exit_code == 2 and "evaluated with 'msrs-demo'" in other.output
    assert out.read_text() == before
    same = cli_eval(only_gan, ir, vis, out, "--dataset", "msrs", "--split", str(DEMO_SPLIT))
    assert same.exit_code == 0, same.output


def test_tables_without_split_column_still_read(eval_data, evaluate, tmp_path: Path) -> None:
    out = tmp_path / "old.csv"
    evaluate(eval_data, "roadscene", out)
    old = pd.read_csv(out, dtype=str, keep_default_na=False).drop(columns=["split"])
    old.to_csv(out, index=False)
    table = read_table(out)
    assert list(table.columns).index("split") == list(table.columns).index("version") + 1
    assert set(table["split"]) == {""}


def test_report_states_the_split_under_the_table(dataset_dirs, eval_data, tmp_path: Path) -> None:
    results, ir, vis = dataset_dirs(eval_data, "msrs")
    out = tmp_path / "per_image.csv"
    cli_eval(results, ir, vis, out, "--split", str(DEMO_SPLIT), "--dataset", "msrs")
    r_results, r_ir, r_vis = dataset_dirs(eval_data, "roadscene")
    cli_eval(r_results, r_ir, r_vis, out, "--dataset", "roadscene")
    report = CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "r")])
    assert report.exit_code == 0, report.output
    markdown = (tmp_path / "r/summary.md").read_text().rstrip().splitlines()
    assert markdown[-1] == "Test split: msrs msrs-demo."
    assert markdown[-3].startswith("| all |")  # the line just under the table
    assert "Test split: msrs msrs-demo." in (tmp_path / "r/summary.tex").read_text()
    sidecar = json.loads((tmp_path / "r/summary.json").read_text())
    assert sidecar["splits"] == {"msrs": ["msrs-demo"]}
