"""`chunkalloc test --board NAME [--port PORT]`: the firmware tests on a target.

On the unix port, firmware/tests/runtests.py runs every firmware test module on every kernel.
On a board (a real one, or an emulated one started for the run) the board's build folder
(library, demo and benchmark) is served to it with `mpremote mount`, with the runner and the test modules compiled for
its arch beside the build; each test module then runs in a fresh session of its own
(a soft reset between them: every module starts on an empty heap).
Each test's PASS/FAIL/SKIP line is printed on the host, then the totals; the exit status
is non-zero if any test failed or a module could not run. With --frozen an emulated board
boots its firmware image (`chunkalloc firmware`) and gets only the tests: every kernel the
image has (on rp2040-emu: the compiled-in C kernels, frozen viper, pure) is tested there.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from . import TESTS, output_dir
from .boards import Board, load_board
from .cmd_build import BuildError, compile_apps
from .cmd_firmware import frozen_firmware
from .images import image_file
from .qemufw import FirmwareError
from .target import (BoardTarget, TargetError, UnixTarget, add_target_arguments, emulated_target,
                     open_target)

HELP = "run the firmware tests on a target and report each test's result"
SUPPORT = [TESTS / "runtests.py", TESTS / "fwtest.py", TESTS / "guarded.py"]
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)
RUN_ATTEMPTS = 2  # an emulated board that stops answering is restarted and the module run again


def test_modules(only: list[str] | None = None) -> list[str]:
    names = sorted(p.stem for p in TESTS.glob("test_*.py"))
    return [n for n in names if not only or n in only]


def run_unix(modules: list[str], timeout: float, kernels: list[str] | None = None) -> int:
    target = UnixTarget(paths=[TESTS])
    code = f"import sys, runtests\nsys.exit(0 if runtests.main({modules!r}, {kernels!r}) else 1)"
    return target.run(code, timeout=timeout).returncode


def stage_tests(board: Board, folder: Path, modules: list[str]) -> None:
    """The runner and the test modules as .mpy files in the mounted folder, and
    boardlimits.py: what the board cannot do though its firmware has the module (an
    emulated chip's limits)."""
    folder.mkdir(parents=True, exist_ok=True)
    compile_apps(board, folder, SUPPORT + [TESTS / f"{name}.py" for name in modules])
    limits: dict[str, str] = board.connect.get("limits", {})
    reduce: dict[str, Any] | None = board.connect.get("reduce")
    fewer = (reduce["factor"], reduce["why"]) if reduce else None
    (folder / "boardlimits.py").write_text(f"LIMITS = {limits!r}\nREDUCE = {fewer!r}\n")


def run_module(target: BoardTarget, name: str, timeout: float,
               kernels: list[str] | None = None) -> str:
    """What the runner printed for one test module; an emulated board that stops answering
    is restarted and the module run again (a real board ends the run: TargetError)."""
    code = f"import runtests\nruntests.main([{name!r}], {kernels!r})"
    for attempt in range(RUN_ATTEMPTS):
        try:
            return target.run(code, capture=True, timeout=timeout).stdout
        except TargetError:
            if target.restart is None or attempt + 1 == RUN_ATTEMPTS:
                raise
            target.restart()
    raise AssertionError("unreachable")


def run_board(target: BoardTarget, modules: list[str], timeout: float,
              kernels: list[str] | None = None) -> int:
    assert target.mount is not None
    stage_tests(target.board, target.mount, modules)
    totals = [0, 0, 0]
    broken: list[str] = []
    for name in modules:
        out = run_module(target, name, timeout, kernels)
        summary = SUMMARY.search(out)
        lines = [line for line in out.splitlines() if not SUMMARY.match(line)]
        print("\n".join(lines).rstrip())
        if summary is None:  # the module did not get to its closing line
            print(f"FAIL {name} [module] did not finish: see the output above")
            broken.append(name)
            continue
        for i in range(3):
            totals[i] += int(summary.group(i + 1))
    totals[1] += len(broken)
    print("%d passed, %d failed, %d skipped" % tuple(totals))
    return 1 if totals[1] else 0


def frozen_target(board: Board, micropython: str | None) -> BoardTarget:
    """The board's frozen image (`chunkalloc firmware`) booted, with only the tests and
    their runner served to it: chunkalloc, its kernels and the pool come from the image."""
    folder, _ = frozen_firmware(board, micropython)
    tests = output_dir() / f"{board.name}-frozen-tests"
    tests.mkdir(parents=True, exist_ok=True)
    compile_apps(board, tests)  # the demo and the benchmark (with xorshift): the image holds the library alone
    return emulated_target(board, image_file(board, folder), tests)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--frozen", action="store_true",
                        help="an emulated board: test its firmware image with chunkalloc frozen in "
                             "(`chunkalloc firmware`) instead of the build served to it")
    parser.add_argument("modules", nargs="*", help="test modules to run (default: all)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per test module")
    parser.add_argument("--kernel", action="append", choices=["c", "viper", "pure"], default=None,
                        help="test this kernel (repeat for more); default every kernel the target has")


def run(args: argparse.Namespace) -> int:
    modules = test_modules(args.modules)
    if not modules:
        print("chunkalloc test: no such test modules", file=sys.stderr)
        return 1
    try:
        if args.board == "unix" and args.port is None:
            return run_unix(modules, args.timeout, args.kernel)
        board = load_board(args.board)
        if args.frozen and (not board.emulated or args.port is not None):
            raise ValueError("--frozen boots an emulated board's firmware image: not with --port")
        target = frozen_target(board, args.micropython) if args.frozen \
            else open_target(board.name, args.port, micropython=args.micropython)
        assert isinstance(target, BoardTarget)
        try:
            return run_board(target, modules, args.timeout, args.kernel)
        finally:
            target.close()
    except (ValueError, BuildError, TargetError, FirmwareError) as exc:
        print(f"chunkalloc test: {exc}", file=sys.stderr)
        return 1
