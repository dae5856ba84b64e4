"""The firmware image an emulated board boots: QEMU's (qemufw) or the real rp2 port's (rp2fw).

`image(board, micropython, frozen)` builds it if it is not cached and returns the file the
emulator loads (firmware.elf for QEMU, firmware.bin for rp2040js); `emulator(board, image)`
is the matching emulator, not yet started.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from . import qemufw, rp2fw
from .boards import Board
from .mpsource import micropython_source, rp2_source
from .qemu import Emulator
from .rp2040emu import Rp2040Emulator

AnyEmulator = Union[Emulator, Rp2040Emulator]


def image_folder(board: Board, micropython: str | None, frozen: Path | None = None) -> Path:
    """The folder of board's image (firmware.elf, and .bin/.uf2 for the rp2 port)."""
    if board.kind == "rp2040js":
        problem = qemufw.missing(board)
        if problem:
            raise qemufw.FirmwareError(f"cannot build firmware for {board.name}: {problem}")
        return rp2fw.firmware(board, rp2_source(micropython), frozen)
    return qemufw.firmware(board, micropython_source(micropython), frozen).parent


def image_file(board: Board, folder: Path) -> Path:
    """The file of an image folder that board's emulator loads."""
    return folder / ("firmware.bin" if board.kind == "rp2040js" else "firmware.elf")


def image(board: Board, micropython: str | None, frozen: Path | None = None) -> Path:
    return image_file(board, image_folder(board, micropython, frozen))


def emulator(board: Board, firmware: Path, *, icount: bool = False) -> AnyEmulator:
    """icount: QEMU counts instructions (rp2040js counts cycles anyway)."""
    if board.kind == "rp2040js":
        return Rp2040Emulator(board, firmware)
    return Emulator(board, firmware, icount=icount)
