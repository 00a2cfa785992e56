"""Start-up cost: help and the light commands import neither torch nor (where not needed) pandas.

Each check runs in a fresh interpreter, so that modules imported by other tests do not count.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "tests" / "data" / "eval" / "msrs"

RUN = """
import sys
from {module} import main
try:
    main({args!r})
except SystemExit as exc:
    assert not exc.code, exc.code
print("loaded:", ",".join(m for m in {heavy!r} if m in sys.modules))
"""


def loaded(module: str, args: list[str], heavy: tuple[str, ...] = ("torch", "pandas")) -> list[str]:
    """The ``heavy`` modules present after running ``main(args)`` of ``module`` in a new
    interpreter."""
    code = RUN.format(module=module, args=args, heavy=heavy)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("loaded:"), done.stdout
    return [name for name in line.removeprefix("loaded:").strip().split(",") if name]


@pytest.mark.parametrize("args", [["--help"], ["fuse", "--help"], ["train", "--help"]])
def test_ivifmodels_help_does_not_import_torch(args):
    assert "torch" not in loaded("ivifmodels.cli", args)


def test_ivifbench_metrics_imports_neither_torch_nor_pandas():
    args = ["metrics", "--metrics", "EN,SD", "--ir", str(EVAL / "ir" / "00004N.png")]
    args += ["--vis", str(EVAL / "vi" / "00004N.png")]
    args += ["--fused", str(EVAL / "results" / "CNN" / "00004N.png")]
    assert loaded("ivifbench.cli", args) == []
    assert loaded("ivifbench.cli", ["metrics", "--help"]) == []
    assert loaded("ivifbench.cli", ["--help"]) == []


def test_ivifbench_help_imports_no_metric_module():
    """``ivifbench --help`` and ``eval --help`` start without the metric modules (numba, scipy,
    OpenCV): about 0.1 s instead of about 1 s."""
    heavy = ("numba", "scipy", "cv2", "ivifbench.conventions", "torch", "pandas")
    assert loaded("ivifbench.cli", ["--help"], heavy) == []
    assert loaded("ivifbench.cli", ["eval", "--help"], heavy) == []


def test_convention_names_match_the_convention_table():
    import ivifbench
    from ivifbench.conventions import CONVENTIONS, DEFAULT_CONVENTION
    from ivifbench.registry import CONVENTION_NAMES

    assert tuple(CONVENTIONS) == CONVENTION_NAMES and DEFAULT_CONVENTION in CONVENTION_NAMES
    assert ivifbench.CONVENTIONS is CONVENTIONS and callable(ivifbench.compute)


def test_lazy_package_names():
    import ivifmodels
    from ivifmodels.names import TRAINABLE
    from ivifmodels.train import OBJECTIVES

    assert callable(ivifmodels.create_model) and ivifmodels.MODELS["cnn"] is not None
    assert set(ivifmodels.__all__) <= set(dir(ivifmodels))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ivifmodels.nope  # noqa: B018
    assert tuple(sorted(OBJECTIVES)) == TRAINABLE


def test_report_formats_listed_without_pandas_match_the_report_module():
    from ivifbench.cli import REPORT_FORMATS
    from ivifbench.report import FORMAT_FILES

    assert REPORT_FORMATS == tuple(FORMAT_FILES)
