"""An emulated board: QEMU running a MicroPython firmware image, its UART on loopback TCP.

`with Emulator(board, elf) as url:` starts the board's QEMU (boards/qemu-*.json:
connect.qemu) with the serial port on a free 127.0.0.1 port and yields the socket:// URL
that mpremote opens; QEMU is stopped on exit, and also when this process dies.
icount=True adds `-icount shift=0`: every guest instruction takes 1 ns of board time, so
time.ticks_us() counts thousands of instructions and a run gives the same count every time.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

from .boards import Board

BOOT_TIMEOUT = 15.0  # seconds until the serial port accepts a connection


def stop_with_parent() -> None:
    """In the child (Linux): QEMU gets SIGTERM when we die, even if killed."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    def __init__(self, board: Board, firmware: Path, *, icount: bool = False):
        self.board = board
        self.firmware = firmware
        self.icount = icount
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def command(self, port: int) -> list[str]:
        timing = ["-icount", "shift=0"] if self.icount else []
        return [*self.board.connect["qemu"], *timing, "-nographic", "-monitor", "null",
                "-serial", f"tcp:127.0.0.1:{port},server=on,wait=off",
                "-kernel", str(self.firmware)]

    def start(self) -> str:
        port = free_port()
        process = subprocess.Popen(self.command(port), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   preexec_fn=stop_with_parent)
        self.process = process
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            if process.poll() is not None:
                said = process.stderr.read().decode() if process.stderr else ""
                self.process = None
                raise RuntimeError(f"{self.command(port)[0]} exited: {said.strip()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the emulated {self.board.name} did not open port {port} "
                                       f"within {BOOT_TIMEOUT} s") from None
                time.sleep(0.05)
        self.url = f"socket://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        process, self.process = self.process, None
        if process and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
