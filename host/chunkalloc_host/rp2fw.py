"""MicroPython's rp2 port (RP2040, RPI_PICO) built from source, cached by its inputs.

`firmware(board, source, frozen)` configures ports/rp2 with cmake and builds it
(boards/rp2040-emu.json: connect.micropython_board). With frozen (a `chunkalloc build`
folder), the image gets what a Pico user's firmware would: the port's own manifest, then
ours (chunkalloc frozen, viper as machine code), and the C kernels compiled in as a user C
module (firmware/c/micropython.cmake). Returns the folder with firmware.elf,
firmware.bin and firmware.uf2.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from .boards import Board
from .buildsteps import FirmwareError, run_steps
from .mpsource import cache_dir, locked, source_id
from .natmod import SOURCE as C_SOURCE, source_hash
from .uf2 import write_uf2

OUTPUTS = ("firmware.elf", "firmware.bin")


def board_manifest(frozen: Path) -> str:
    return ('include("$(PORT_DIR)/boards/manifest.py")  # the port\'s own modules first\n'
            f'include("{(frozen / "manifest.py").resolve()}")\n')


def cache_key(board: Board, source: Path, frozen: Path | None) -> str:
    what = [board.connect.get(k) for k in ("micropython_port", "micropython_board")]  # what the build reads
    digest = hashlib.sha256(json.dumps([source_id(source), board.name, what]).encode())
    if frozen is not None:
        digest.update(source_hash().encode())  # the user C module
        for path in sorted([frozen / "manifest.py", *(frozen / "src").glob("*.py")]):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def firmware(board: Board, source: Path, frozen: Path | None = None) -> Path:
    """The folder holding firmware.elf/.bin/.uf2 for board, built from source if not cached."""
    kind = "frozen" if frozen else "plain"
    folder = cache_dir() / "firmware" / f"{board.name}-{kind}-{cache_key(board, source, frozen)}"
    with locked(f"build-{source_id(source).replace('/', '_')}"):
        if (folder / "firmware.uf2").exists():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        build = folder / "build"
        build.mkdir(parents=True)
        options = [f"-DMICROPY_BOARD={board.connect['micropython_board']}",
                   "-DPICO_BUILD_DOCS=0",
                   "-DPICO_NO_PICOTOOL=1"]  # picotool would be fetched from git; uf2.py writes the UF2
        if frozen is not None:
            manifest = folder / "manifest.py"
            manifest.write_text(board_manifest(frozen))
            options += [f"-DMICROPY_FROZEN_MANIFEST={manifest}",
                        f"-DUSER_C_MODULES={C_SOURCE / 'micropython.cmake'}"]
        jobs = f"-j{os.cpu_count() or 2}"
        steps = [["make", "-C", str(source / "mpy-cross"), jobs],
                 ["cmake", "-S", str(source / "ports" / "rp2"), "-B", str(build), *options],
                 ["make", "-C", str(build), jobs]]
        try:
            run_steps(steps, f"MicroPython rp2 {board.connect['micropython_board']} ({kind})")
        except FirmwareError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        for name in OUTPUTS:
            shutil.copyfile(build / name, folder / name)
        shutil.rmtree(build)  # the objects: about 60 MB, not needed again
        write_uf2(folder / "firmware.bin", folder / "firmware.uf2")
    return folder
