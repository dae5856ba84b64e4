"""`chunkalloc firmware --board qemu-m3 [--out DIR]`: a MicroPython image with chunkalloc frozen in.

The board's build (`chunkalloc build`: every firmware module and the static pool sized
for the board, listed in its manifest.py) is frozen into the board's MicroPython firmware,
viper code as machine code, so `import chunkalloc` and `from chunkpool import POOL` work
with no file on the board: the seed's freestanding binary, as a real firmware image.
`chunkalloc run --board qemu-m3 SCRIPT` boots it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from . import output_dir
from .boards import Board, load_board
from .cmd_build import BuildError, add_pool_arguments, build
from .mpsource import add_source_argument, micropython_source
from .qemufw import FirmwareError, firmware

HELP = "build a MicroPython firmware image for an emulated board with chunkalloc frozen in"


def frozen_firmware(board: Board, micropython: str | None = None, chunks: int | None = None,
                    chunk_size: int | None = None) -> tuple[Path, list[Path]]:
    """The image (cached) and the modules frozen into it."""
    folder = output_dir() / f"{board.name}-frozen"
    modules = build(board, folder, chunks, chunk_size)
    return firmware(board, micropython_source(micropython), folder), modules


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", default="qemu-m3", help="an emulated board (qemu-*); default qemu-m3")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for firmware.elf; default build/BOARD-frozen")
    add_pool_arguments(parser)
    add_source_argument(parser)


def run(args: argparse.Namespace) -> int:
    try:
        board = load_board(args.board)
        elf, modules = frozen_firmware(board, args.micropython, args.chunks, args.chunk_size)
    except (ValueError, TypeError, BuildError, FirmwareError) as exc:
        print(f"chunkalloc firmware: {exc}", file=sys.stderr)
        return 1
    out = args.out or output_dir() / f"{board.name}-frozen"
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(elf, out / "firmware.elf")
    print(f"{out / 'firmware.elf'}  {elf.stat().st_size} B: MicroPython for {board.name} with "
          f"{len(modules)} modules frozen in ({', '.join(p.stem for p in modules)})")
    print(f"boot it: chunkalloc run --board {board.name} SCRIPT")
    return 0
