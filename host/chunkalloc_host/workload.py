"""The workload a host command runs on a target: the demo, or a user's script.

Either way it is MicroPython code that provides make_pool() -> ChunkAllocator
and run(pool, seconds, tick=None), tick(pool) being called about every 100 ms
with the GC heap unlocked (the interface of firmware/demo/demo.py).

On a board the mounted folder (see target.py) holds the library, the insight modules among
them, and the demo; a user's script is sent as code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEMO = "from demo import make_pool, run\n"


def add_workload_arguments(parser: argparse.ArgumentParser, seconds: float) -> None:
    parser.add_argument("--script", type=Path, default=None,
                        help="a MicroPython file defining make_pool() and run(pool, seconds, tick)"
                             " like firmware/demo/demo.py (default: the demo)")
    parser.add_argument("--seconds", type=float, default=seconds,
                        help=f"how long the workload runs (default {seconds})")


def workload_code(script: Path | None) -> str:
    """MicroPython code that defines make_pool and run."""
    if script is None:
        return DEMO
    return script.read_text() + "\n"
