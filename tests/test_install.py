"""The models folder installs as ``ivifmodels``: a user's own ``models`` package never collides.

Checked for the editable install the tests run in, and for a wheel built from this checkout,
each from a project folder that has its own ``models/`` package.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Run inside the user's project: both packages import, each is the right one.
PROBE = (
    "import models, ivifmodels; from ivifmodels import create_model; "
    "assert models.USER_PACKAGE, models.__file__; "
    "assert not hasattr(ivifmodels, 'USER_PACKAGE'); "
    "print(ivifmodels.__file__)"
)


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """A folder with its own ``models`` package, as most research projects have."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("USER_PACKAGE = True\n")
    return tmp_path


def _run(args: list[str], cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_editable_install_beside_a_user_models_package(user_project):
    where = _run([sys.executable, "-c", PROBE], user_project).strip()
    assert Path(where) == ROOT / "models" / "__init__.py"
    assert "Usage:" in _run([sys.executable, "-m", "ivifmodels", "--help"], user_project)


@pytest.mark.slow
def test_wheel_install_beside_a_user_models_package(user_project, tmp_path_factory):
    wheels, target = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)], ROOT)
    (wheel,) = wheels.glob("ivif-*.whl")
    _run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], ROOT)
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = _run([sys.executable, "-c", PROBE], user_project, env).strip()
    assert Path(where) == target / "ivifmodels" / "__init__.py"
    assert "Usage:" in _run([sys.executable, "-m", "ivifmodels", "--help"], user_project, env)
    sample = target / "ivifdata" / "sample" / "msrs" / "test" / "ir" / "00004N.png"
    assert sample.is_file()  # the bundled sample travels in the wheel
