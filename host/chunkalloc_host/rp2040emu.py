"""The emulated Pico: rp2040js (npm) running an rp2 firmware image, USB CDC on loopback TCP.

`with Rp2040Emulator(board, firmware_bin) as url:` starts rp2040/runner.mjs (ours, shipped
with this package) under Node with the RP2040 bootrom and yields the socket:// URL that
mpremote opens; the runner exits when we close its stdin, and also when this process dies.
rp2040js is installed once from rp2040/package.json (pinned) into the cache with npm.
The bootrom comes from --bootrom or CHUNKALLOC_RP2040_BOOTROM.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .boards import Board
from .mpsource import cache_dir, locked
from .qemu import stop_with_parent

RUNNER = Path(__file__).with_name("rp2040")
RUNNER_FILES = ("package.json", "package-lock.json", "runner.mjs")
BOOTROM_ENV = "CHUNKALLOC_RP2040_BOOTROM"
BOOT_TIMEOUT = 30.0  # seconds until the runner listens and the REPL answers
NPM_TIMEOUT = 300.0


def missing() -> str | None:
    absent = [tool for tool in ("node", "npm") if not shutil.which(tool)]
    return f"{', '.join(absent)} not found: apt-get install nodejs npm" if absent else None


def bootrom() -> Path:
    spec = os.environ.get(BOOTROM_ENV)
    if not spec:
        raise RuntimeError(f"no RP2040 bootrom: pass --bootrom FILE or set {BOOTROM_ENV} (the B1 "
                           "mask ROM, 16 KiB: the array of demo/bootrom.ts in the rp2040js "
                           "repository, as little-endian words)")
    path = Path(spec).expanduser()
    if not path.is_file() or path.stat().st_size != 16384:
        raise RuntimeError(f"{path}: not a 16 KiB RP2040 bootrom")
    return path


def runner() -> Path:
    """runner.mjs with rp2040js installed beside it, in the cache (npm ci, once)."""
    problem = missing()
    if problem:
        raise RuntimeError(f"cannot start the emulated Pico: {problem}")
    digest = hashlib.sha256(b"".join((RUNNER / n).read_bytes() for n in RUNNER_FILES))
    folder = cache_dir() / "rp2040js" / digest.hexdigest()[:16]
    with locked("rp2040js"):
        if not (folder / "node_modules" / "rp2040js").is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            for name in RUNNER_FILES:
                shutil.copyfile(RUNNER / name, folder / name)
            result = subprocess.run(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund"],
                                    cwd=folder, capture_output=True, text=True, timeout=NPM_TIMEOUT)
            if result.returncode != 0:
                shutil.rmtree(folder, ignore_errors=True)
                raise RuntimeError(f"npm could not install rp2040js: {result.stderr.strip()[-800:]}")
    return folder / "runner.mjs"


class Rp2040Emulator:
    def __init__(self, board: Board, firmware: Path):
        self.board = board
        self.firmware = firmware
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        command = ["node", str(runner()), "--firmware", str(self.firmware),
                   "--bootrom", str(bootrom())]
        log = tempfile.TemporaryFile("w+")  # what the runner says (a pipe could fill and stall it)
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=log, text=True, preexec_fn=stop_with_parent)
        self.process = process
        assert process.stdout is not None
        line = process.stdout.readline()  # "PORT n" once it listens
        if not line.startswith("PORT "):
            process.wait(timeout=BOOT_TIMEOUT)
            log.seek(0)
            said = log.read()
            self.stop()
            raise RuntimeError(f"the emulated Pico did not start: {line.strip()} {said.strip()[-500:]}")
        self.url = f"socket://127.0.0.1:{int(line.split()[1])}"
        time.sleep(0.5)  # USB enumeration: the REPL answers within a few ms of emulated time
        return self.url

    def stop(self) -> None:
        process, self.process = self.process, None
        if process and process.poll() is None:
            try:
                assert process.stdin is not None
                process.stdin.close()  # the runner exits when its stdin closes
                process.wait(timeout=5)
            except (subprocess.TimeoutExpired, OSError):
                process.kill()
                process.wait()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
