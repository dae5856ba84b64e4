"""Host tooling for chunkalloc: the `chunkalloc` command and its helpers (CPython only)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
LIBRARY = FIRMWARE / "chunkalloc"  # what a board installs: the interface, kernels, pool, insight
C_SOURCE = FIRMWARE / "c"  # the C kernels: a native module, a user C module, a CPython extension
DEMO = FIRMWARE / "demo"
BENCH = FIRMWARE / "bench"
TESTS = FIRMWARE / "tests"  # the on-board test runner and the firmware tests
EXAMPLES = FIRMWARE / "examples"
APPS = [DEMO, BENCH]  # what host commands bring to a board beside the library (by mount)
BOARDS = REPO / "boards"
