"""MicroPython firmware for an emulated board, built from source and cached by its inputs.

`firmware(board, source, frozen=None)` runs the QEMU port's make for the board's
MicroPython board (boards/qemu-*.json: connect.micropython_board and connect.make) and
returns firmware.elf. With frozen (a `chunkalloc build` folder: manifest.py and src/),
every module the build names is frozen into the image, viper code as machine code, and
the C kernels are compiled in as a user C module (firmware/c/micropython.mk).
The image is kept in the cache under a key made of the source, the make arguments and
the frozen files, so an unchanged board is built once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from . import C_SOURCE
from .boards import Board
from .buildsteps import FirmwareError, run_steps
from .mpsource import cache_dir, locked, source_id
from .natmod import source_hash

__all__ = ["FirmwareError", "firmware", "missing"]


def missing(board: Board) -> str | None:
    """What is missing to build and start board's firmware (with the install line), or None."""
    tools: list[str] = board.connect.get("tools", [])
    absent = [tool for tool in tools if not shutil.which(tool)]
    if not absent:
        return None
    packages = " ".join(board.connect.get("apt", []))
    return f"{', '.join(absent)} not found: apt-get install {packages}"


def _expand(arg: str, board: Board) -> str:
    """{libgcc}: the path of the board's libgcc, asked of its compiler (Debian's riscv64
    compiler picks its rv64 one unless told)."""
    if "{libgcc}" not in arg:
        return arg
    command = [*board.connect["libgcc"], "-print-libgcc-file-name"]
    found = subprocess.run(command, capture_output=True, text=True).stdout.strip()
    return arg.replace("{libgcc}", found)


def make_arguments(board: Board, frozen: Path | None) -> list[str]:
    manifest = str((frozen / "manifest.py").resolve()) if frozen else ""
    # USER_C_MODULES: the folder whose sub-folders have a micropython.mk (firmware/c/)
    modules = [f"USER_C_MODULES={C_SOURCE.parent}"] if frozen else []
    return [f"BOARD={board.connect['micropython_board']}", f"FROZEN_MANIFEST={manifest}", *modules,
            *(_expand(arg, board) for arg in board.connect.get("make", []))]


def cache_key(board: Board, source: Path, frozen: Path | None) -> str:
    digest = hashlib.sha256(json.dumps([source_id(source), board.name,
                                        board.connect.get("micropython_board"),
                                        board.connect.get("make", [])]).encode())
    if frozen is not None:
        digest.update(source_hash().encode())  # the user C module
        for path in sorted([frozen / "manifest.py", *(frozen / "src").glob("*.py")]):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def firmware(board: Board, source: Path, frozen: Path | None = None) -> Path:
    """firmware.elf for board, built from source (frozen: a build folder to freeze in)."""
    if board.kind != "qemu":
        raise FirmwareError(f"{board.name} is not an emulated board: build its firmware "
                            "with its own port, and freeze build/NAME/manifest.py into it")
    problem = missing(board)
    if problem:
        raise FirmwareError(f"cannot build firmware for {board.name}: {problem}")
    kind = "frozen" if frozen else "plain"
    folder = cache_dir() / "firmware" / f"{board.name}-{kind}-{cache_key(board, source, frozen)}"
    elf = folder / "firmware.elf"
    with locked(f"build-{source_id(source).replace('/', '_')}"):
        if elf.exists():
            return elf
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        jobs = f"-j{os.cpu_count() or 2}"
        # mpy-cross first, on its own: make passes BUILD= on to the sub-make that would
        # build it for the port, which would then write into the port's build folder
        steps = [["make", "-C", str(source / "mpy-cross"), jobs]] if frozen else []
        steps.append(["make", "-C", str(source / "ports" / "qemu"), jobs,
                      f"BUILD={folder / 'build'}", *make_arguments(board, frozen)])
        try:
            run_steps(steps, f"MicroPython qemu {board.connect['micropython_board']} ({kind})")
        except FirmwareError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        shutil.copyfile(folder / "build" / "firmware.elf", elf)
        shutil.rmtree(folder / "build")  # the objects: 10-20 MB a board, not needed again
    return elf
