"""The oldest and the newest CPython we support (pyproject's requires-python: 3.10, the
oldest the unix port's wheels serve): the project installed from a clean copy of the tree
into a venv of that interpreter (its C kernels' extension built for it), and the CPython
firmware tests and a few host tests run there. A missing interpreter skips, saying so;
under CI (CI=true) it fails."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import clean_copy, user_environment

VERSIONS = ["3.10", "3.13"]  # oldest and newest supported
HOST_TESTS = ["tests/test_boards.py", "tests/test_insight_tracefile.py", "tests/test_replay.py",
              "tests/test_model_hypothesis.py"]


def interpreter(version: str) -> str | None:
    """The newest pyenv build of CPython version, else python3.X on PATH (one that runs:
    a pyenv shim for a version not selected does not)."""
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    builds = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"),
                    key=lambda p: [int(x) for x in Path(p).parents[1].name.split(".") if x.isdigit()])
    for candidate in [*reversed(builds), shutil.which(f"python{version}")]:
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.mark.parametrize("version", VERSIONS)
def test_the_cpython_and_host_tests_pass_on(version, tmp_path):
    python = interpreter(version)
    if python is None:
        why = f"no CPython {version} here (pyenv install {version}, or put python{version} on PATH)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    source = clean_copy(tmp_path / "source")
    venv = tmp_path / "venv"
    env = user_environment(tmp_path / "cache", venv)  # no MicroPython source: no natmods built
    subprocess.run([python, "-m", "venv", str(venv)], check=True, env=env, timeout=300)
    bin_ = venv / "bin"
    pip = subprocess.run([str(bin_ / "python"), "-m", "pip", "install", "-q", "pytest", "hypothesis",
                          str(source)], env=env, capture_output=True, text=True, timeout=1200)
    assert pip.returncode == 0, pip.stderr[-3000:]
    # the C kernels' extension built for this interpreter: the CPython tests run on it too
    ext = subprocess.run([str(bin_ / "python"), "-c", "import chunkalloc_c, sys; print(sys.version)"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert ext.returncode == 0 and ext.stdout.startswith(version), ext.stderr
    tests = subprocess.run([str(bin_ / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "firmware/tests", *HOST_TESTS], cwd=source, env=env,
                           capture_output=True, text=True, timeout=1200)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
