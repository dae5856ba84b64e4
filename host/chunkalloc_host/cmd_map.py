"""`chunkalloc map`: a heap map of a live pool on a target, drawn as a PNG heat map."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import heapmap
from .atomic import write_text_atomically
from .target import add_target_arguments, open_target
from .workload import add_workload_arguments, workload_code

HELP = "snapshot a live pool's heap map on the target and draw it as a PNG with its metrics"

# Runs the workload and prints the map at the tick nearest `at` seconds (or at
# the end, should the run finish first). MicroPython 1.9 syntax.
DRIVER = """
import chunkalloc_map
_pool = make_pool()
_ticks = [0]
def _tick(pool):
    _ticks[0] += 1
    if _ticks[0] == {tick}:
        chunkalloc_map.show(pool)
run(_pool, {seconds!r}, _tick)
if _ticks[0] < {tick}:
    chunkalloc_map.show(_pool)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    add_workload_arguments(parser, seconds=1.0)
    parser.add_argument("--at", type=float, default=None,
                        help="snapshot this many seconds into the run (default: half way)")
    parser.add_argument("--out", type=Path, default=Path("map.png"), help="the PNG to write")
    parser.add_argument("--text", type=Path, default=None, help="also save the map's text here")
    parser.add_argument("--input", type=Path, default=None,
                        help="draw a saved map text (from chunkalloc_map.show()) instead of running")


def snapshot_code(script: Path | None, seconds: float, at: float | None) -> str:
    at = seconds / 2 if at is None else at
    tick = max(1, round(at * 10))  # ticks come every 100 ms
    return workload_code(script) + DRIVER.format(tick=tick, seconds=seconds)


def run(args: argparse.Namespace) -> int:
    if args.input is not None:
        text, source = args.input.read_text(errors="replace"), str(args.input)
    else:
        target = open_target(args.board, args.port, micropython=args.micropython)
        done = target.run(snapshot_code(args.script, args.seconds, args.at), capture=True)
        text, source = done.stdout, f"{args.board} output"
        if done.returncode:
            print(text, end="", file=sys.stderr)
            print(f"chunkalloc map: the workload failed (exit {done.returncode})", file=sys.stderr)
            return 1
    try:
        heap_map = heapmap.parse(text, source)
    except heapmap.MapError as e:
        print(f"chunkalloc map: {e}", file=sys.stderr)
        return 1
    from .plots import render_map  # matplotlib only when drawing

    if args.text is not None:
        lines = text.splitlines()
        start = next(n for n, line in enumerate(lines) if line.startswith(heapmap.HEADER + " "))
        end = lines.index("end-map", start)
        write_text_atomically(args.text, "\n".join(lines[start:end + 1]) + "\n")
    render_map(heap_map, args.out, f"chunkalloc heap map ({args.board if args.input is None else args.input.name})")
    m = heap_map
    print(f"{args.out}: {m.chunks} chunks of {m.chunk_size} B, {m.used} used in {m.allocations}"
          f" allocations; largest free run {m.largest_free} chunks, {m.free_runs} free runs,"
          f" fragmentation {m.fragmentation:.1f}%")
    return 0
