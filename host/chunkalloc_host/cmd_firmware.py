"""`chunkalloc firmware --board rp2040-emu|qemu-m3|qemu-rv32 [--out DIR]`: a MicroPython image
with chunkalloc in it.

The board's build (`chunkalloc build`: every firmware module and the static pool sized
for the board, listed in its manifest.py) is frozen into the board's MicroPython firmware
after the port's own modules, viper code as machine code, and the C kernels are compiled
in as a user C module (firmware/c/micropython.cmake, micropython.mk), so `import chunkalloc`
and `from chunkpool import POOL` work with no file on the board. rp2040-emu is MicroPython's
real rp2 port for the Raspberry Pi Pico (RPI_PICO): firmware.uf2 is what a Pico takes on
its BOOTSEL drive. The image is then booted once in its emulator to ask it which kernel
it runs. `chunkalloc run --board NAME SCRIPT` boots it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from . import output_dir
from .boards import Board, load_board
from .cmd_build import BuildError, add_pool_arguments, build
from .images import emulator, image_file, image_folder
from .mpsource import add_source_argument
from .natmod import MODULE as NATMOD
from .qemufw import FirmwareError
from .target import BoardTarget, TargetError

HELP = ("build a MicroPython firmware image with chunkalloc frozen in and its C kernels "
        "compiled in (the Pico's real rp2 firmware, or an emulated board's)")
ASK_KERNEL = "import chunkalloc\nprint('KERNELS', ' '.join(chunkalloc.KERNELS))"


def frozen_firmware(board: Board, micropython: str | None = None, chunks: int | None = None,
                    chunk_size: int | None = None) -> tuple[Path, list[Path]]:
    """The image's folder (cached) and the modules frozen into it."""
    if not board.emulated:
        raise FirmwareError(f"{board.name} is not a board this command builds firmware for: "
                            "choose rp2040-emu (the Pico's rp2 port), qemu-m3 or qemu-rv32, or "
                            "build your port and include build/NAME/manifest.py in its manifest")
    folder = output_dir() / f"{board.name}-frozen"
    modules = build(board, folder, chunks, chunk_size)
    return image_folder(board, micropython, folder), modules


def image_kernels(board: Board, folder: Path) -> list[str]:
    """chunkalloc.KERNELS as the image reports them, booted with nothing mounted."""
    with emulator(board, image_file(board, folder)) as url:
        out = BoardTarget(board, url).run(ASK_KERNEL, capture=True, timeout=120).stdout
    for line in out.splitlines():
        if line.startswith("KERNELS "):
            return line.split()[1:]
    raise TargetError(f"the image did not say its kernels: {out.strip()[-300:]}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", default="rp2040-emu",
                        help="rp2040-emu (the Pico's rp2 firmware), qemu-m3 or qemu-rv32; "
                             "default rp2040-emu")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the image files; default build/BOARD-frozen")
    add_pool_arguments(parser)
    add_source_argument(parser)


def run(args: argparse.Namespace) -> int:
    try:
        board = load_board(args.board)
        folder, modules = frozen_firmware(board, args.micropython, args.chunks, args.chunk_size)
    except (ValueError, TypeError, BuildError, FirmwareError) as exc:
        print(f"chunkalloc firmware: {exc}", file=sys.stderr)
        return 1
    out = args.out or output_dir() / f"{board.name}-frozen"
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.glob("firmware.*")):
        shutil.copyfile(path, out / path.name)
        print(f"{out / path.name}  {path.stat().st_size:,} B")
    frozen = [p.stem for p in modules if p.stem != NATMOD]  # the .mpy module is compiled in instead
    print(f"MicroPython for {board.name}: {len(frozen)} modules frozen in ({', '.join(frozen)}) "
          f"and the C kernels compiled in (user C module {NATMOD})")
    try:
        kernels = image_kernels(board, folder)
        print(f"the image runs kernel {kernels[0]!r} (available: {', '.join(kernels)})")
    except (TargetError, RuntimeError, OSError) as exc:
        print(f"(not booted to ask which kernel it runs: {exc})")
    if board.kind == "rp2040js":
        print("flash a Pico: hold BOOTSEL, plug it in, copy firmware.uf2 to the RPI-RP2 drive")
    print(f"boot it here: chunkalloc run --board {board.name} SCRIPT")
    return 0
