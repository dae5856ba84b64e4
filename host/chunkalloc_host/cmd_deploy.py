"""`chunkalloc deploy --board NAME [--port PORT]`: build, check the board, copy, verify.

Before copying, it reads the firmware's version, sys.implementation._mpy and free RAM and
refuses (saying what to do) when the build cannot load there or the pool cannot fit.
After copying it reads every file back (a checksum) and imports chunkalloc and builds
the pool on the board; if anything fails (a reset mid-copy, a full file system) it removes what it
copied, so nothing is left half-installed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from . import output_dir
from .boards import Board, load_board
from .cmd_build import BuildError, add_pool_arguments, build
from .mpy import MpyFormat, firmware_format, incompatibility, read_file_header
from .poolgen import pool_bytes
from .target import BoardTarget, TargetError, add_target_arguments, checksum, garbled, open_target

HELP = "install chunkalloc on a board with mpremote, after checking firmware and free RAM"

PROBE = ("import sys, gc\ngc.collect()\nv = sys.implementation.version\n"
         "print('PROBE', v[0], v[1], v[2], getattr(sys.implementation, '_mpy', -1), gc.mem_free())")
REWRITES = 3  # times files that arrived garbled or not at all are written again
VERIFY = ["import gc\nimport chunkalloc\ngc.collect()",
          "import chunkpool\nprint('VERIFIED', chunkpool.POOL.chunks)"]


@dataclass(frozen=True)
class Probe:
    version: tuple[int, int, int]
    mpy: MpyFormat | None  # None: the firmware cannot load .mpy files
    free: int


def parse_probe(output: str) -> Probe:
    for line in output.splitlines():
        words = line.split()
        if len(words) == 6 and words[0] == "PROBE":
            major, minor, micro, mpy, free = map(int, words[1:])
            return Probe((major, minor, micro), firmware_format(mpy) if mpy >= 0 else None, free)
    raise ValueError(f"the board did not answer the probe; it printed: {output.strip()[-300:]!r}")


def ram_needed(board: Board, files: list[Path], chunks: int, chunk_size: int) -> int:
    """Heap the pool takes (the code's own RAM is small: importing after the copy is the
    real test)."""
    return pool_bytes(chunks, chunk_size)


def refusal(board: Board, probe: Probe, built: MpyFormat | None, needed: int) -> str | None:
    """Why this build must not go onto that firmware, with what to do; None when it fits."""
    have = ".".join(map(str, probe.version))
    want = ".".join(map(str, board.min_firmware))
    if probe.version < board.min_firmware:
        return f"the board runs MicroPython {have}; {board.name} builds need {want} or later: flash a newer firmware"
    if built is not None:
        why = incompatibility(built, probe.mpy)
        if why:
            return why
    if needed > probe.free:
        return (f"the pool and code need {needed} bytes but the board has {probe.free} free: "
                f"build a smaller pool, e.g. --chunks {max(8, board.chunks * probe.free // (2 * needed) // 8 * 8)}")
    return None


def deploy(target: BoardTarget, board: Board, files: list[Path], chunks: int,
           chunk_size: int) -> str:
    """Check, copy and verify; return a summary; raise TargetError, having removed the copies."""
    probe = parse_probe(target.run(PROBE, capture=True, timeout=30).stdout)
    built = next((read_file_header(p) for p in files if p.suffix == ".mpy"
                  and read_file_header(p).arch is not None), None)
    why = refusal(board, probe, built, ram_needed(board, files, chunks, chunk_size))
    if why:
        raise TargetError(f"refusing to deploy to {board.name}: {why}")
    names = [p.name for p in files]
    try:
        copied = target.put(files)
        sums = target.checksums(names)
        for _ in range(REWRITES):
            wrong = [p for p in files if sums.get(p.name) != checksum(p.read_bytes())]
            # written again: files that arrived garbled, or never arrived because the copy
            # broke off (a lossy serial line); not files missing after a clean copy (a reset)
            if not wrong or (copied.returncode == 0 and not any(p.name in sums for p in wrong)):
                break
            copied = target.put(wrong)
            sums.update(target.checksums([p.name for p in wrong]))
        wrong = [p.name for p in files if sums.get(p.name) != checksum(p.read_bytes())]
        if wrong:
            said = f": {copied.stdout.strip()[-300:]}" if copied.returncode != 0 else ""
            raise TargetError(f"after copying, these files are missing or differ: {', '.join(wrong)} "
                              f"(did the board reset?){said}")
        checked = target.run_steps(VERIFY, timeout=60)
        if garbled(checked.stdout or ""):  # a lossy line: the command, not the import, failed
            checked = target.run_steps(VERIFY, timeout=60)
        if "VERIFIED" not in checked.stdout:
            raise TargetError(f"chunkalloc does not import on the board: {checked.stdout.strip()[-300:]}")
    except (TargetError, OSError) as exc:
        try:
            target.remove(names)
        except TargetError:
            pass  # the board is gone: nothing more can be removed
        raise TargetError(f"{exc}; removed the copied files, nothing is installed") from None
    version = ".".join(map(str, probe.version))
    return (f"installed {len(files)} files on {board.name} (MicroPython {version}, "
            f"{probe.free} bytes free before); `import chunkpool` gives a pool of {chunks} x {chunk_size} B")


AFTER_RESET = ("import os, chunkalloc\nfrom chunkpool import POOL\n"
               "print('INSTALLED', sorted(os.listdir('/')), chunkalloc.__file__, POOL.kernel)")


def installed_after_reset(target: BoardTarget) -> str:
    """What an emulated board has on its flash after a soft reset (mpremote's own): the
    installed files, where chunkalloc came from, the pool's kernel."""
    out = target.run(AFTER_RESET, capture=True, timeout=60).stdout
    found = next((line for line in out.splitlines() if line.startswith("INSTALLED ")), None)
    if found is None:
        raise TargetError(f"chunkalloc does not import from the board's flash: {out.strip()[-300:]}")
    return (f"after a soft reset the emulated board imports from its flash: {found[10:]} "
            "(its flash lives in the emulator: gone when this command ends)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    add_pool_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        board = load_board(args.board)
        if board.kind == "local":
            raise TargetError("the unix port imports from a folder: "
                              f"chunkalloc build --board unix, then MICROPYPATH={output_dir() / 'unix'}")
        if board.kind == "qemu" and args.port is None:
            raise TargetError(f"the emulated {board.name} has no file system to install on: "
                              f"`chunkalloc firmware --board {board.name}` freezes chunkalloc into "
                              "its firmware, and test, bench and demo serve it the build with mpremote mount")
        chunks, chunk_size = args.chunks or board.chunks, args.chunk_size or board.chunk_size
        files = build(board, output_dir() / board.name, chunks, chunk_size)
        target = open_target(board.name, args.port, mount=False, micropython=args.micropython)
        assert isinstance(target, BoardTarget)  # a UnixTarget only for the unix port: above
        try:
            print(deploy(target, board, files, chunks, chunk_size))
            if board.emulated and args.port is None:  # the emulated Pico: its littlefs
                print(installed_after_reset(target))
        finally:
            target.close()
    except (ValueError, TypeError, BuildError, TargetError) as exc:
        print(f"chunkalloc deploy: {exc}", file=sys.stderr)
        return 1
    return 0
