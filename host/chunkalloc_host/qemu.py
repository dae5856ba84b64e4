"""The emulated board: QEMU's micro:bit running Debian's MicroPython firmware.

`with EmulatedMicrobit() as url:` starts qemu-system-arm with its serial port on a free
loopback TCP port and yields the socket:// URL that mpremote opens; the emulator is
stopped on exit. Files written to it vanish when it stops.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

FIRMWARE_HEX = Path("/usr/share/firmware-microbit-micropython/firmware.hex")
BOOT_TIMEOUT = 10.0  # seconds until the serial port accepts a connection


def _stop_with_parent() -> None:
    """In the child (Linux): the emulator gets SIGTERM when we die, even if killed."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def missing() -> str | None:
    """What is missing to run the emulated board (with the install command), or None."""
    if not shutil.which("qemu-system-arm"):
        return "qemu-system-arm not found: apt-get install qemu-system-arm"
    if not FIRMWARE_HEX.exists():
        return f"{FIRMWARE_HEX} not found: apt-get install firmware-microbit-micropython"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmulatedMicrobit:
    def __init__(self, firmware: Path = FIRMWARE_HEX):
        self.firmware = firmware
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        problem = missing()
        if problem:
            raise RuntimeError(f"cannot start the emulated micro:bit: {problem}")
        port = free_port()
        # -display/-monitor none, not -nographic: that one swallows Ctrl-A (raw REPL)
        self.process = subprocess.Popen(
            ["qemu-system-arm", "-M", "microbit", "-display", "none", "-monitor", "none",
             "-serial", f"tcp:127.0.0.1:{port},server=on,wait=off",
             "-device", f"loader,file={self.firmware}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=_stop_with_parent)
        deadline = time.monotonic() + BOOT_TIMEOUT
        while True:
            if self.process.poll() is not None:
                error = self.process.stderr.read() if self.process.stderr else b""  # PIPE: not None
                raise RuntimeError("qemu-system-arm exited: " + error.decode())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the emulated micro:bit did not open port {port} "
                                       f"within {BOOT_TIMEOUT} s")
                time.sleep(0.05)
        self.url = f"socket://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
