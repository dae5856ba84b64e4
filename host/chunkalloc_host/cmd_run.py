"""`chunkalloc run --board NAME SCRIPT`: run a script on a board, with what is on it.

On an emulated board (qemu-*, rp2040-emu) this boots the firmware with chunkalloc frozen in
(`chunkalloc firmware`, built if it is not cached) and runs the script with nothing
mounted or copied: what the script imports comes from the image. On a real board it runs
the script against what is installed (`chunkalloc deploy`, or a frozen firmware); on the
unix port, with firmware/ on the path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .boards import load_board
from .cmd_build import BuildError
from .cmd_firmware import frozen_firmware
from .images import emulator, image_file
from .qemufw import FirmwareError
from .target import BoardTarget, TargetError, add_target_arguments, open_target

HELP = "run a script on a board: an emulated one boots the firmware with chunkalloc frozen in"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("script", type=Path, help="the MicroPython script to run")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds the script may take")


def run(args: argparse.Namespace) -> int:
    if not args.script.is_file():
        print(f"chunkalloc run: {args.script}: no such file", file=sys.stderr)
        return 1
    try:
        board = load_board(args.board)
        if board.emulated and args.port is None:
            folder, _ = frozen_firmware(board, args.micropython)
            with emulator(board, image_file(board, folder)) as url:
                done = BoardTarget(board, url).run_file(args.script, timeout=args.timeout)
            return done.returncode
        target = open_target(board.name, args.port, mount=False)
        if isinstance(target, BoardTarget):
            return target.run_file(args.script, timeout=args.timeout).returncode
        return target.run(args.script.read_text(), timeout=args.timeout).returncode
    except (ValueError, BuildError, FirmwareError, TargetError, RuntimeError) as exc:
        print(f"chunkalloc run: {exc}", file=sys.stderr)
        return 1
