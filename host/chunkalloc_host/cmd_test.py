"""`chunkalloc test --board NAME [--port PORT]`: the firmware tests on a target.

On the unix port, firmware/runtests.py runs every firmware test module on the viper and
the pure path. On a board, chunkalloc is deployed first, then each test module is copied
with the runner, run, and removed again (one at a time: small boards have little room).
On a source-only board (the micro:bit) each test runs alone with just the code it
reaches (microbit_tests.py), on the pure path.
Each test's PASS/FAIL/SKIP line is printed on the host; the exit status is non-zero if
any test failed or could not run.
"""

from __future__ import annotations

import argparse
import sys

from . import FIRMWARE, REPO
from .boards import load_board
from .cmd_build import BuildError, build
from .cmd_deploy import deploy
from .microbit_tests import Runner, cases
from .target import TargetError, UnixTarget, add_target_arguments, open_target

HELP = "run the firmware tests on a target and report each test's result"
TESTS = FIRMWARE / "tests"
SUMMARY_PREFIX = "passed"  # runtests.py ends with "N passed, N failed, N skipped"


def test_modules(only: list[str] | None = None) -> list[str]:
    names = sorted(p.stem for p in TESTS.glob("test_*.py"))
    return [n for n in names if not only or n in only]


def run_unix(modules: list[str], timeout: float) -> int:
    target = UnixTarget(paths=[TESTS])
    code = f"import sys, runtests\nsys.exit(0 if runtests.main({modules!r}) else 1)"
    return target.run(code, timeout=timeout).returncode


def run_board(target, board, modules: list[str], paths: list[str] | None, timeout: float) -> int:
    files = build(board, REPO / "build" / board.name)
    print(deploy(target, board, files, board.chunks, board.chunk_size))
    support = [FIRMWARE / "runtests.py", TESTS / "fwtest.py"]
    failed = 0
    for name in modules:
        module = [TESTS / f"{name}.py"]
        copied = target.put(support + module)
        if copied.returncode != 0:
            print(f"FAIL {name} [copy] {copied.stdout.strip()[-200:]}")
            failed += 1
            continue
        out = target.run(f"import gc\ngc.collect()\nimport runtests\nruntests.main([{name!r}], {paths!r})",
                         capture=True, timeout=timeout).stdout
        print(out.rstrip())
        if " 0 failed" not in out:
            failed += 1
        target.remove([f"{name}.py"])
    target.remove([p.name for p in support])
    return 1 if failed else 0


RUN_ATTEMPTS = 3  # on an emulated board that stops answering or gets a command garbled


def run_case(runner: Runner, case, timeout: float) -> tuple[str, str]:
    """The case's result. An emulated board that stops answering (or gets a command
    garbled) is restarted and the case run again, up to RUN_ATTEMPTS times in all, before
    it counts as a failure; a real board ends the run (TargetError)."""
    problem = ""
    for _ in range(RUN_ATTEMPTS):
        try:
            return runner.run(case, timeout)
        except TargetError as exc:
            restart = getattr(runner.target, "restart", None)
            if restart is None:
                raise
            problem = str(exc)
            restart()
            runner.on_board = {}
    return "FAIL", problem


def run_source_board(target, modules: list[str], timeout: float) -> int:
    """Each test alone with the code it reaches (see microbit_tests.py); the pure path only."""
    runner = Runner(target)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    try:
        for name in modules:
            for case in cases(name):
                result, detail = run_case(runner, case, timeout)
                counts[result] += 1
                if result == "FAIL":
                    print(f"FAIL {case.label}")
                    print("\n".join("  " + line for line in detail.splitlines()))
                else:
                    print(f"{result} {case.label} {detail}".rstrip())
    finally:
        runner.clean()
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    return 1 if counts["FAIL"] else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("modules", nargs="*", help="test modules to run (default: all)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")


def run(args: argparse.Namespace) -> int:
    modules = test_modules(args.modules)
    if not modules:
        print("chunkalloc test: no such test modules", file=sys.stderr)
        return 1
    try:
        if args.board == "unix" and args.port is None:
            return run_unix(modules, args.timeout)
        board = load_board(args.board)
        target = open_target(board.name, args.port)
        if board.arch is None:
            return run_source_board(target, modules, min(args.timeout, 120.0))
        return run_board(target, board, modules, None, args.timeout)  # every kernel the board has
    except (ValueError, BuildError, TargetError) as exc:
        print(f"chunkalloc test: {exc}", file=sys.stderr)
        return 1
