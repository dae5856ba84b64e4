"""The C kernels under AddressSanitizer and UndefinedBehaviorSanitizer (issue 14).

The CPython extension is built a second time, with -fsanitize=address,undefined, into a
scratch folder; then, with that module first on the path, libasan preloaded and
PYTHONMALLOC=malloc (so that every bytearray gets ASan's red zones), pytest runs the
firmware tests (test_fuzz and test_safety among them) and the hypothesis state machine.
Any sanitizer report fails: UBSan is built not to recover, ASan stops at its first error.
Without gcc or libasan the test skips, saying what to install; with CI set it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import chunkalloc
import pytest

from chunkalloc_host import FIRMWARE

REPO = FIRMWARE.parent
SOURCE = FIRMWARE / "c" / "chunkalloc_cpython.c"
FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer",
         "-g", "-O1"]
REPORTS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def need(problem: str | None) -> None:
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the sanitizers: {problem}")
    pytest.skip(problem)


def libasan() -> str | None:
    """The path of gcc's libasan.so, or None."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None
    found = subprocess.run([gcc, "-print-file-name=libasan.so"], capture_output=True,
                           text=True).stdout.strip()
    return found if os.path.isabs(found) and Path(found).exists() else None


def build(folder: Path) -> Path:
    """chunkalloc_c built with the sanitizers into folder."""
    out = folder / f"chunkalloc_c{sysconfig.get_config_var('EXT_SUFFIX')}"
    command = ["gcc", "-shared", "-fPIC", *FLAGS, f"-I{sysconfig.get_paths()['include']}",
               f"-I{SOURCE.parent}", str(SOURCE), "-o", str(out)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stderr}"
    return out


def sanitized_env(folder: Path, asan: str) -> dict[str, str]:
    library = Path(chunkalloc.__file__).parent  # wherever the library modules live
    return dict(os.environ, LD_PRELOAD=asan, PYTHONMALLOC="malloc",
                ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1",
                UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1",
                PYTHONPATH=os.pathsep.join([str(folder), str(library), str(FIRMWARE / "tests")]),
                PYTHONDONTWRITEBYTECODE="1")


def test_the_c_kernels_pass_the_firmware_tests_fuzzer_and_state_machine_under_asan_and_ubsan(
        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    need(None if shutil.which("gcc") else "no gcc (apt-get install gcc)")
    asan = libasan()
    need(None if asan else "no libasan for gcc (apt-get install libasan8 or gcc's libasan)")
    assert asan is not None
    module = build(tmp_path)
    env = sanitized_env(tmp_path, asan)
    # the sanitized module is the one imported, and chunkalloc takes it
    probe = subprocess.run([sys.executable, "-c", "import chunkalloc, chunkalloc_c; "
                            "print(chunkalloc_c.__file__, chunkalloc.KERNELS[0])"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert probe.stdout.split() == [str(module), "c"], probe.stdout
    # pytest's own pythonpath (the library first) would find the plain build: the
    # sanitized folder goes before it
    own = " ".join(str(p) for p in request.config.getini("pythonpath"))
    paths = f"pythonpath={tmp_path} {own}"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                          "-o", paths, "firmware/tests", "tests/test_model_hypothesis.py"],
                         env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    output = run.stdout + run.stderr
    reports = [line for line in output.splitlines() if any(r in line for r in REPORTS)]
    assert not reports, "\n".join(reports) + "\n" + output[-5000:]
    assert run.returncode == 0, output[-5000:]
    assert " passed" in output and "failed" not in output, output[-3000:]
