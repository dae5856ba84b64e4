"""`chunkalloc replay`: replay a trace for several chunk sizes, best-fit on and off."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import tracefile
from .replay import Result, replay
from .tables import aligned

HELP = "replay a trace on the CPython path for each chunk size, best-fit on and off"


def chunk_sizes(text: str) -> list[int]:
    """argparse type for --chunk-size 16,32,64."""
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected chunk sizes like 16,32,64, got {text!r}") from None
    bad = [s for s in sizes if s < 1 or s & (s - 1)]
    if not sizes or bad:
        raise argparse.ArgumentTypeError(f"chunk sizes must be powers of two, got {text!r}")
    return sizes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", type=Path, help="a trace file from `chunkalloc trace`")
    parser.add_argument("--chunk-size", type=chunk_sizes, default=[16, 32, 64, 128, 256],
                        help="comma-separated chunk sizes (default 16,32,64,128,256)")
    parser.add_argument("--pool-bytes", type=int, default=None,
                        help="pool size in bytes (default: the traced pool's)")
    parser.add_argument("--plot", type=Path, default=None,
                        help="the PNG chart to write (default: TRACE with -replay.png)")


def table(results: list[Result], pool_bytes: int) -> str:
    rows = [("chunk", "best-fit", "chunks", "failures", "peak used", "peak %", "waste %",
             "efficiency %")]
    for r in results:
        eff = "-" if r.efficiency is None else f"{r.efficiency:.1f}"
        rows.append((f"{r.chunk_size}", "on" if r.best_fit else "off", f"{r.chunks}",
                     f"{r.failures}", f"{r.peak_bytes}", f"{r.peak_usage:.1f}", f"{r.waste:.1f}", eff))
    return "\n".join([f"pool of {pool_bytes} B", *aligned(rows)])


def run(args: argparse.Namespace) -> int:
    try:
        trace = tracefile.read(args.trace)
    except (OSError, tracefile.TraceError) as e:
        print(f"chunkalloc replay: {e}", file=sys.stderr)
        return 1
    pool_bytes = args.pool_bytes or trace.pool_bytes
    too_big = [cs for cs in args.chunk_size if cs > pool_bytes]
    if too_big:
        print(f"chunkalloc replay: chunk size {too_big[0]} is larger than the {pool_bytes} B pool",
              file=sys.stderr)
        return 2
    results = [replay(trace, cs, bf, pool_bytes) for cs in args.chunk_size for bf in (True, False)]
    print(f"{args.trace}: {len(trace.ops)} records, {len(trace.failures())} found no room on the"
          f" device ({trace.chunks} chunks of {trace.chunk_size} B)")
    if trace.dropped:
        print(f"note: the first {trace.dropped} records were dropped on the device")
    print(table(results, pool_bytes))
    print("waste: chunk bytes not asked for, at peak; efficiency: requested bytes live at the"
          " first failure, % of pool (talc's measure; - = nothing failed)")
    from .plots import plot_replay  # matplotlib only when drawing

    plot = args.plot or args.trace.with_name(args.trace.stem + "-replay.png")
    plot_replay(results, plot, f"replay of {args.trace.name} on a {pool_bytes} B pool")
    print(f"plot: {plot}")
    return 0
