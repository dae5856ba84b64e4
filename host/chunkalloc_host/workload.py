"""The workload a host command runs on a target: the demo, or a user's script.

Either way it is MicroPython code that provides make_pool() -> ChunkAllocator
and run(pool, seconds, tick=None), tick(pool) being called about every 100 ms
with the GC heap unlocked (the interface of firmware/demo.py).

On a board the build folder, mounted, holds every firmware module; a board reached
without a mount gets the insight module the command needs (and demo.py when the demo
is the workload) copied first, the core itself being installed by `chunkalloc deploy`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from subprocess import CompletedProcess
from typing import Callable

from . import FIRMWARE
from .target import Target

DEMO = "from demo import make_pool, run\n"


def add_workload_arguments(parser: argparse.ArgumentParser, seconds: float) -> None:
    parser.add_argument("--script", type=Path, default=None,
                        help="a MicroPython file defining make_pool() and run(pool, seconds, tick)"
                             " like firmware/demo.py (default: the demo)")
    parser.add_argument("--seconds", type=float, default=seconds,
                        help=f"how long the workload runs (default {seconds})")


def workload_code(script: Path | None) -> str:
    """MicroPython code that defines make_pool and run."""
    if script is None:
        return DEMO
    return script.read_text() + "\n"


def install(target: Target, module: str, script: Path | None) -> None:
    """Copy module (and the demo, if it is the workload) onto a board target that runs
    what is installed; a mounted build folder already holds every firmware module."""
    put: Callable[[list[Path]], CompletedProcess[str]] | None = getattr(target, "put", None)
    if put is None or getattr(target, "mount", None) is not None:
        return  # the unix port (no put) reads firmware/ directly
    files = [FIRMWARE / f"{module}.py"] + ([FIRMWARE / "demo.py"] if script is None else [])
    done = put(files)
    if done.returncode:
        raise SystemExit(f"chunkalloc: could not copy {', '.join(f.name for f in files)}"
                         f" to the board: {(done.stdout or '').strip()[-300:]}")
