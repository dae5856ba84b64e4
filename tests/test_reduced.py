"""The reduced micro:bit core (reduced.py, inline.py): what it keeps, that its calls nest
shallowly, that inlining keeps behaviour, and that every firmware test case the micro:bit
runs passes with the very same tailored files on the unix port and on CPython."""

import ast
import os
import subprocess
import sys
import textwrap

import pytest

from chunkalloc_host.inline import MAX_DEPTH, lean, depth, shallow
from chunkalloc_host.microbit_tests import cases
from chunkalloc_host.reduced import CLASS, firmware_sources, reduced_firmware, reduced_module
from chunkalloc_host.target import micropython_binary

CORE_TEST_MODULES = ["test_alloc", "test_errors", "test_noalloc", "test_model"]
EVERYTHING = {"heap", "heap_bitmap", CLASS, "try_alloc", "alloc", "alloc_zeroed", "free",
              "realloc", "size_of", "address", "offset_of", "view", "alloc_view", "usage",
              "chunk_kind", "gaps", "stats", "check", "used", "allocations", "fast"}


def test_reduced_core_is_1_9_source_without_what_it_leaves_out():
    files = reduced_firmware()
    defined = set()
    assert files.pop("chunkalloc.txt").count("\n") >= 5  # the messages, one a line
    for name, text in files.items():
        tree = ast.parse(text)
        defined |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert not any(isinstance(n, (ast.JoinedStr, ast.NamedExpr)) for n in ast.walk(tree))
        assert "property" not in text and '"""' not in text and "#" not in text.split("\n", 1)[1]
    assert {"try_alloc", "alloc", "free", "size_of", "address", "heap", "heap_bitmap"} <= defined
    assert not defined & {"realloc", "view", "alloc_view", "check", "stats", "LockedChunkAllocator"}
    pieces = [text for name, text in files.items() if name != "chunkalloc.py"]
    assert pieces and all(len(t) <= 1000 for t in pieces)


def test_reduced_core_tailored_to_a_test_keeps_what_the_test_reaches():
    files = reduced_firmware({"realloc", "check", "used"})
    text = "".join(files.values())
    assert "def realloc(" in text and "def check(" in text and "def __getattr__(" in text
    assert "def alloc_view(" not in text and "def stats(" not in text


def test_no_function_of_the_reduced_core_nests_more_than_max_depth_calls():
    body, _ = reduced_module(*firmware_sources(), EVERYTHING)
    cls = next(n for n in body if isinstance(n, ast.ClassDef))
    depths = depth(body, cls)
    assert max(depths.values()) <= MAX_DEPTH, depths
    assert {"alloc", "realloc", "alloc_zeroed", "free", "size_of", "check"} <= set(depths)


SAMPLE = '''
def head(bits, i):
    if i < 0:
        return -1
    if bits[i]:
        return i
    raise ValueError("no head at %d" % i)

def scan(bits, i):
    while i < len(bits):
        if bits[i]:
            return i
        i += 1
    return len(bits)

def twice(x):
    return x + x

def mark(bits, i, n=2):
    for j in range(i, i + n):
        bits[j] = 1

def outer(bits, i):
    h = head(bits, i)
    mark(bits, h + 1, 1)
    return scan(bits, h + 2) + twice(len(bits))

def caller(bits, i):
    try:
        return outer(bits, i)
    except ValueError as e:
        return str(e)

class C:
    def top(self, bits, i):
        return caller(bits, i)
'''


def test_inlining_names_what_it_cannot_make_shallow_enough():
    body = ast.parse(SAMPLE).body
    # scan (a return inside a loop) is called inside an expression in outer
    assert shallow(body, body[-1], 1) == ["outer", "caller", "top"]


@pytest.mark.parametrize("limit", [2, 3])
def test_inlining_keeps_behaviour_and_bounds_the_depth(limit):
    body = ast.parse(SAMPLE).body
    cls = body[-1]
    assert not shallow(body, cls, limit)
    lean(body, cls, {"top", "outer", "caller", "head", "scan", "twice", "mark"})
    assert max(depth(body, cls).values()) <= limit
    before, after = {}, {}
    exec(compile(SAMPLE, "sample", "exec"), before)
    exec(compile(ast.fix_missing_locations(ast.Module(body=body, type_ignores=[])), "inlined", "exec"), after)
    for bits, i in [([0, 1, 0, 0, 1], 1), ([1, 0, 0, 0, 0, 0], 0), ([0, 0, 0], 1), ([1], -3)]:
        a, b = list(bits), list(bits)
        assert before["C"]().top(a, i) == after["C"]().top(b, i) and a == b


def micro_bit_cases():
    return [pytest.param(case, id=f"{case.module}.{case.test}")
            for module in CORE_TEST_MODULES for case in cases(module)]


RUN_CASE = """\
import sys
sys.path.insert(0, {dir!r})
import chunkalloc  # at the top level first, as on the board
import fwtest
fwtest.FAST = False
import {module}
try:
    {module}.{test}()
except fwtest.Skip as e:
    print('SKIP', e)
else:
    print('PASS')
"""


def run_case(case, runtime, tmp_path):
    for name, text in case.files.items():
        (tmp_path / name).write_text(text)
    code = RUN_CASE.format(dir=str(tmp_path), module=case.module, test=case.test)
    command = [micropython_binary(), "-X", "heapsize=4m", "-c", code] if runtime == "unix" \
        else [sys.executable, "-c", code]
    env = dict(os.environ, MICROPYPATH=str(tmp_path))
    return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("runtime", ["unix", "cpython"])
@pytest.mark.parametrize("case", micro_bit_cases())
def test_each_micro_bit_case_passes_with_the_same_files_elsewhere(case, runtime, tmp_path):
    """The tailored files the micro:bit gets for a test (reduced core, fwtest, the test)
    pass it on the unix port and on CPython: where the board runs out of heap, the code
    it would have run is still proven right. Threads and views are absent there too."""
    out = run_case(case, runtime, tmp_path)
    lines = out.stdout.split()
    if lines[:1] == ["SKIP"]:
        pytest.skip(out.stdout.strip())
    assert out.returncode == 0 and lines[-1:] == ["PASS"], textwrap.indent(out.stdout + out.stderr, "  ")

