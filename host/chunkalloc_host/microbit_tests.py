"""Firmware tests on the micro:bit, one test at a time, each with just the code it needs.

The micro:bit's 9 KB heap holds about 80-110 bytes per function object, so the whole core
and a test module never fit together. For each test this sends a tailored build: the
test function with the helpers it reaches (test module and fwtest), and the reduced core
with only the methods those reach (see reduced.py). The code under test is the same
generated source; what a test does not call is not sent. Each test then runs after a
soft reset, so no test sees another's heap.

A test that stops with the board's own MemoryError ("memory allocation failed", or the
parser's) needed more heap than the board has: it is reported as SKIP with that reason,
never as PASS. A MemoryError under heap_lock (empty message) is a FAIL.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from . import FIRMWARE
from .reduced import reduce_module, reduced_firmware, uses

TESTS = FIRMWARE / "tests"
BOARD_OUT_OF_HEAP = ("memory allocation failed", "parser could not allocate",
                     "maximum recursion depth exceeded")  # the board's own limits, not ours
RUNNER = """\
try:
 {module}.{test}()
 print('RESULT PASS')
except fwtest.Skip as e:
 print('RESULT SKIP', e)
except Exception as e:
 print('RESULT FAIL')
 import sys
 sys.print_exception(e)
"""


@dataclass
class TestCase:
    module: str
    test: str
    files: dict  # file name on the board -> source

    @property
    def label(self) -> str:
        return f"{self.module}.{self.test} [pure]"

    def execs(self) -> list[str]:
        """Code to exec in turn: imports one at a time (each compiles on a clean heap), then the test."""
        return ["import gc\nimport chunkalloc\ngc.collect()",
                "import fwtest\nfwtest.FAST = False\ngc.collect()",
                f"import {self.module}\ngc.collect()",
                RUNNER.format(module=self.module, test=self.test)]


def _imported_names(source: str) -> set[str]:
    return {a.asname or a.name for n in ast.walk(ast.parse(source))
            if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}


def cases(module: str, tests_dir: Path = TESTS) -> list[TestCase]:
    source = (tests_dir / f"{module}.py").read_text()
    fwtest = (tests_dir / "fwtest.py").read_text()
    names = [n.name for n in ast.parse(source).body
             if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    found = []
    for test in names:
        test_source = reduce_module(source, {test})
        wanted = uses(ast.parse(test_source)) | _imported_names(test_source) | {"Skip", "FAST"}
        fw_source = reduce_module(fwtest, wanted)
        files = reduced_firmware(wanted | uses(ast.parse(fw_source)))
        files["fwtest.py"] = fw_source
        files[f"{module}.py"] = test_source
        found.append(TestCase(module, test, files))
    return found


def verdict(output: str) -> tuple[str, str]:
    """(PASS | FAIL | SKIP, detail) from what the board printed for one test."""
    out_of_heap = next((m for m in BOARD_OUT_OF_HEAP if m in output), None)
    for line in output.splitlines():
        if line.startswith("RESULT PASS"):
            return "PASS", ""
        if line.startswith("RESULT SKIP"):
            return "SKIP", line[len("RESULT SKIP"):].strip()
        if line.startswith("RESULT FAIL") and not out_of_heap:
            return "FAIL", output.split("RESULT FAIL", 1)[1].strip()
    if out_of_heap:
        return "SKIP", f"needs more heap or stack than the micro:bit has ({out_of_heap})"
    return "FAIL", output.strip()


class Runner:
    """Runs cases on a board target, writing only the files that changed since the last test."""

    def __init__(self, target):
        self.target = target
        self.on_board: dict = {}

    def run(self, case: TestCase, timeout: float = 120.0) -> tuple[str, str]:
        problem = self._install(case.files, timeout)
        if problem and getattr(self.target, "restart", None):
            # the micro:bit's flash file system does not always get its space back (seen
            # on the emulator after short writes): a fresh emulator has an empty one
            self.target.restart()
            self.on_board = {}
            problem = self._install(case.files, timeout)
        if problem:
            return "FAIL", problem
        args = []
        for code in case.execs():
            args += ["exec", code]
        return verdict(self.target.mpremote(*args, capture=True, timeout=timeout).stdout or "")

    def _install(self, files: dict, timeout: float) -> str | None:
        """Put files on the board (removing the rest, writing what changed) and check their
        sizes; None, or what went wrong."""
        stale = sorted(n for n in self.on_board if self.on_board[n] != files.get(n))
        changed = {n: s for n, s in files.items() if self.on_board.get(n) != s}
        if not changed and not stale:
            return None
        # remove first: old and new versions together may not fit in 15 KB of flash
        args = ["exec", "import os\nfor n in %r:\n try:\n  os.remove(n)\n except OSError:\n  pass" % stale]
        for name in stale:
            del self.on_board[name]
        for name, text in changed.items():
            args += self.target.write_args(name, text)
        written = self.target.mpremote(*args, capture=True, timeout=timeout)
        sizes = self.target.sizes(sorted(changed))
        short = [n for n, text in changed.items() if sizes.get(n) != len(text.encode())]
        if written.returncode != 0 or short:
            self.on_board.update({n: None for n in changed})  # unknown state: rewrite next time
            return f"could not write {', '.join(short) or 'the files'}: {written.stdout.strip()[-200:]}"
        self.on_board.update(changed)
        return None

    def clean(self) -> None:
        if self.on_board:
            self.target.remove(list(self.on_board))
            self.on_board = {}
