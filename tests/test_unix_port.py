"""Every firmware test, run again on the MicroPython unix port, once per kernel: C (the
x64 native module built from firmware/c/), viper and pure.

Each firmware test module runs once per kernel through firmware/tests/runtests.py in a
`micropython` subprocess; each test is then reported here under its own name, e.g.
`test_on_unix_port[c-test_alloc.test_free_needs_no_size_and_frees_the_whole_run]`.
The C kernel's runs skip, saying why, where its module cannot be built (no gcc, no
MicroPython source); with CI set they fail instead.
"""

from __future__ import annotations

import ast
import os
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from chunkalloc_host import APPS, LIBRARY, TESTS
from chunkalloc_host.natmod import natmod_for
from chunkalloc_host.target import micropython_binary

PATHS = ("c", "viper", "pure")  # chunkalloc.KERNELS on the unix port


@lru_cache(maxsize=None)
def natmod_folder() -> tuple[str, str]:
    """(folder holding chunkalloc_c.mpy for x64, "") or ("", why there is none)."""
    found, why = natmod_for("x64")  # prebuilt, else built from a MicroPython source at hand
    return (str(found.parent), "") if found else ("", f"no C kernels' module here: {why}")


def micropypath() -> str:
    folder, why = natmod_folder()
    return os.pathsep.join(p for p in (folder, *map(str, [LIBRARY, *APPS, TESTS])) if p)


def firmware_tests() -> list[tuple[str, str]]:
    """(module, function) for every test_* function in firmware/tests/test_*.py."""
    found = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        found += [(path.stem, node.name) for node in tree.body
                  if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    return found


@lru_cache(maxsize=None)
def run_module(module: str, path: str) -> tuple[dict[str, tuple[str, str]], str]:
    """Run one firmware test module on the unix port; {test: (status, detail)} and the output."""
    env = dict(os.environ, MICROPYPATH=micropypath())
    code = f"import runtests, sys\nsys.exit(0 if runtests.main([{module!r}], [{path!r}]) else 1)"
    proc = subprocess.run([micropython_binary(), "-X", "heapsize=8m", "-c", code],
                          env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    results: dict[str, tuple[str, str]] = {}
    current = None
    for line in output.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("PASS", "FAIL", "SKIP") and rest.startswith(module + "."):
            name, _, reason = rest[len(module) + 1:].partition(f" [{path}]")
            results[name] = (status, reason.strip())
            current = name if status == "FAIL" else None
        elif current and line.startswith("  "):
            status, detail = results[current]
            results[current] = (status, detail + line[2:] + "\n")
    return results, output


@pytest.mark.parametrize(
    "path,module,test",
    [pytest.param(p, m, t, id=f"{p}-{m}.{t}") for p in PATHS for m, t in firmware_tests()],
)
def test_on_unix_port(path: str, module: str, test: str) -> None:
    if path == "c" and natmod_folder()[1]:
        if os.environ.get("CI"):
            pytest.fail(natmod_folder()[1])
        pytest.skip(natmod_folder()[1])
    results, output = run_module(module, path)
    if test not in results:
        pytest.fail(f"{module}.{test} [{path}] did not report; the run printed:\n{output[-3000:]}")
    status, detail = results[test]
    if status == "SKIP":
        pytest.skip(detail)
    assert status == "PASS", f"{module}.{test} failed on the unix port ({path} path):\n{detail}"


def test_unix_port_has_every_kernel_and_heap_lock() -> None:
    """Every kernel is really exercised: the C module loads, viper compiles, heap_lock exists."""
    code = "import chunkalloc, micropython\nprint(','.join(chunkalloc.KERNELS), hasattr(micropython, 'heap_lock'))"
    env = dict(os.environ, MICROPYPATH=micropypath())
    out = subprocess.run([micropython_binary(), "-c", code], env=env,
                         capture_output=True, text=True, timeout=60).stdout
    kernels = "c,viper,pure" if not natmod_folder()[1] else "viper,pure"
    assert out.split() == [kernels, "True"]
