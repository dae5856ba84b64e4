"""Host tooling for chunkalloc: the `chunkalloc` command and its helpers (CPython only).

Where the files the commands use come from: an installed wheel carries them as package
data (data/: boards/, firmware/ and the prebuilt native modules natmod/ARCH/); a checkout
(or an editable install of one) uses the repository's own folders. What the commands write
goes to build/ in the checkout, else to ./build under the current folder (output_dir()).
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
DATA = PACKAGE / "data"  # the package data of a wheel (setup.py puts it there)
INSTALLED = (DATA / "boards").is_dir()
REPO = PACKAGE.parents[1]  # the checkout (meaningful only when not INSTALLED)
ROOT = DATA if INSTALLED else REPO
FIRMWARE = ROOT / "firmware"
LIBRARY = FIRMWARE / "chunkalloc"  # what a board installs: the interface, kernels, pool, insight
C_SOURCE = FIRMWARE / "c"  # the C kernels: a native module, a user C module, a CPython extension
DEMO = FIRMWARE / "demo"
BENCH = FIRMWARE / "bench"
TESTS = FIRMWARE / "tests"  # the on-board test runner and the firmware tests
EXAMPLES = FIRMWARE / "examples"
APPS = [DEMO, BENCH]  # what host commands bring to a board beside the library (by mount)
BOARDS = ROOT / "boards"
# chunkalloc_c.mpy per arch, built from the pinned MicroPython (prebuilt.py): in the wheel,
# or in a checkout's build/natmod/ after `make natmods` or `make dist`
PREBUILT = DATA / "natmod" if INSTALLED else REPO / "build" / "natmod"


def output_dir() -> Path:
    """Where commands write builds (build/NAME, build/NAME-mount, build/NAME-frozen)."""
    return REPO / "build" if not INSTALLED else Path.cwd() / "build"
