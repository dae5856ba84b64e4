"""Firmware tests on the micro:bit, one test at a time, each with just the code it needs.

The micro:bit's 9 KB heap holds about 80-110 bytes per function object, so the whole core
and a test module never fit together. For each test this sends a tailored build: the
test function with the helpers it reaches (test module and fwtest), and the reduced core
with only the methods those reach (see reduced.py). The code under test is the same
generated source; what a test does not call is not sent. Each test then runs after a
soft reset, so no test sees another's heap.

A test that stops with the board's own MemoryError ("memory allocation failed", or the
parser's), or any MemoryError before the test function starts, needed more heap than
the board has: it is reported as SKIP with that reason, never as PASS (see verdict()).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from . import FIRMWARE
from .boards import load_board
from .poolgen import POOL_MODULE, pool_module
from .reduced import reduce_module, reduced_firmware, uses
from .target import BOARD_OUT_OF_HEAP, TargetError, checksum, garbled

TESTS = FIRMWARE / "tests"
BOARD = load_board("microbit")
WRITE_ATTEMPTS = 6  # files that read back wrong are written again (on the emulator: fresh)
FS_CHUNKS = 118  # the micro:bit's file system: 128-byte chunks (126 of data), 15,100 bytes in one file
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


def _mentions(*sources: str) -> set[str]:
    """Names sources use, import, or spell out as strings (getattr(a, "realloc"))."""
    found = set()
    for source in sources:
        tree = ast.parse(source)
        found |= uses(tree) | _imported_names(source) | {
            n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.isidentifier()}
    return found


def _imported_modules(*sources: str) -> set[str]:
    found = set()
    for source in sources:
        for n in ast.walk(ast.parse(source)):
            if isinstance(n, ast.ImportFrom) and n.module:
                found.add(n.module)
            elif isinstance(n, ast.Import):
                found |= {a.name for a in n.names}
    return found


def _imported_names(source: str) -> set[str]:
    return {a.asname or a.name for n in ast.walk(ast.parse(source))
            if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}


def _board_module(name: str) -> str | None:
    """The source the board gets for a module a test imports, besides chunkalloc (the
    reduced core) and fwtest: the board's generated pool, or a firmware helper."""
    if name == POOL_MODULE[:-3]:
        return pool_module(BOARD.chunks, BOARD.chunk_size, BOARD.name, compiles_source=True)
    path = FIRMWARE / f"{name}.py"
    return path.read_text() if path.exists() and not name.startswith("chunkalloc") else None


def cases(module: str, tests_dir: Path = TESTS) -> list[TestCase]:
    source = (tests_dir / f"{module}.py").read_text()
    fwtest = (tests_dir / "fwtest.py").read_text()
    names = [n.name for n in ast.parse(source).body
             if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    found = []
    for test in names:
        test_source = reduce_module(source, {test})
        wanted = _mentions(test_source) | {"Skip", "FAST"}
        fw_source = reduce_module(fwtest, wanted)
        wanted |= _mentions(fw_source)
        helpers = {f"{name}.py": reduce_module(text, wanted)
                   for name in sorted(_imported_modules(test_source, fw_source))
                   if (text := _board_module(name)) is not None}
        files = reduced_firmware(wanted | _mentions(*helpers.values()))
        files.update(helpers)
        files["fwtest.py"] = fw_source
        files[f"{module}.py"] = test_source
        found.append(TestCase(module, test, files))
    return found


def verdict(output: str) -> tuple[str, str]:
    """(PASS | FAIL | SKIP, detail) from what the board printed for one test.

    Out of the board's heap or stack is a SKIP with the reason: while the test ran when
    the message says so ("memory allocation failed", the parser's), before the test
    started (setting up: importing and compiling) for any MemoryError. A bare
    MemoryError inside the test is what heap_lock raises: a FAIL."""
    limit = next((m for m in BOARD_OUT_OF_HEAP if m in output), None)
    for line in output.splitlines():
        if line.startswith("RESULT PASS"):
            return "PASS", ""
        if line.startswith("RESULT SKIP"):
            return "SKIP", line[len("RESULT SKIP"):].strip()
        if line.startswith("RESULT FAIL"):
            if limit:
                return "SKIP", f"needs more heap or stack than the micro:bit has ({limit})"
            return "FAIL", output.split("RESULT FAIL", 1)[1].strip()
    if limit or "MemoryError" in output:
        return "SKIP", f"setting up needs more heap or stack than the micro:bit has ({limit or 'MemoryError'})"
    return "FAIL", output.strip()


def fs_chunks(files: dict) -> int:
    """Flash chunks files take on the micro:bit (name and length in the first chunk)."""
    return sum((len(text.encode()) + len(name) + 3 + 125) // 126 for name, text in files.items())


class Runner:
    """Runs cases on a board target, writing only the files that changed since the last test."""

    def __init__(self, target):
        self.target = target
        self.on_board: dict = {}

    def run(self, case: TestCase, timeout: float = 120.0) -> tuple[str, str]:
        if fs_chunks(case.files) > FS_CHUNKS:
            return "SKIP", f"its code does not fit the micro:bit's file system ({fs_chunks(case.files)} chunks of {FS_CHUNKS})"
        problem = self._install(case.files, timeout)
        for _ in range(WRITE_ATTEMPTS - 1):  # the emulator's serial line loses a byte now and then
            if not problem:
                break
            problem = self._install(case.files, timeout)
        if problem:
            return "FAIL", problem
        args = []
        for code in case.execs():
            args += ["exec", code]
        output = self.target.mpremote(*args, capture=True, timeout=timeout).stdout or ""
        if garbled(output):
            raise TargetError(f"a command reached the board garbled: {output.strip()[-200:]}")
        return verdict(output)

    def _install(self, files: dict, timeout: float) -> str | None:
        """Put files on the board (removing the rest, writing what changed) and read them
        back; None, or what went wrong. An emulated board is restarted instead of having
        files removed and rewritten: there a rewritten module can import as stale flash
        (IndentationError) although it reads back right."""
        stale = sorted(n for n in self.on_board if self.on_board[n] != files.get(n))
        changed = {n: s for n, s in files.items() if self.on_board.get(n) != s}
        if not changed and not stale:
            return None
        if getattr(self.target, "restart", None) and (stale or None in self.on_board.values()):
            self.target.restart()
            self.on_board, stale, changed = {}, [], dict(files)
        # remove first: old and new versions together may not fit in 15 KB of flash
        args = ["exec", "import os\nfor n in %r:\n try:\n  os.remove(n)\n except OSError:\n  pass" % stale]
        for name in stale:
            del self.on_board[name]
        for name, text in changed.items():
            args += self.target.write_args(name, text)
        written = self.target.mpremote(*args, capture=True, timeout=timeout)
        sums = self.target.checksums(sorted(changed))
        wrong = [n for n, text in changed.items() if sums.get(n) != checksum(text.encode())]
        if written.returncode != 0 or wrong:
            self.on_board.update({n: None for n in changed})  # unknown state: rewrite next time
            return f"could not write {', '.join(wrong) or 'the files'}: {written.stdout.strip()[-200:]}"
        self.on_board.update(changed)
        return None

    def clean(self) -> None:
        if self.on_board:
            self.target.remove(list(self.on_board))
            self.on_board = {}
