"""`chunkalloc tune`: recommend a chunk size and pool size for a trace, with the evidence."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import tracefile
from .cmd_replay import chunk_sizes
from .tables import aligned
from .tune import Fit, tune

HELP = "recommend a chunk size and a pool size for a trace, with the evidence"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", type=Path, help="a trace file from `chunkalloc trace`")
    parser.add_argument("--chunk-size", type=chunk_sizes, default=[16, 32, 64, 128, 256],
                        help="comma-separated chunk sizes to consider (default 16,32,64,128,256)")
    parser.add_argument("--margin", type=float, default=25.0,
                        help="percent added to the smallest pool that never fails (default 25)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def table(fits: list[Fit]) -> str:
    rows = [("chunk", "best-fit", "min chunks", "chunks", "pool B", "bitmap B", "RAM B",
             "peak %", "waste %", "replays")]
    for f in sorted(fits, key=lambda f: (f.chunk_size, not f.best_fit)):
        rows.append((f"{f.chunk_size}", "on" if f.best_fit else "off", f"{f.min_chunks}",
                     f"{f.chunks}", f"{f.pool_bytes}", f"{f.bitmap_bytes}",
                     f"{f.ram}" + (" *" if f is fits[0] else ""),
                     f"{f.result.peak_usage:.1f}", f"{f.result.waste:.1f}", f"{f.replays}"))
    return "\n".join(aligned(rows))


def run(args: argparse.Namespace) -> int:
    try:
        trace = tracefile.read(args.trace)
    except (OSError, tracefile.TraceError) as e:
        print(f"chunkalloc tune: {e}", file=sys.stderr)
        return 1
    if not any(op.kind != "f" for op in trace.ops):
        print(f"chunkalloc tune: {args.trace} has no allocations to tune for", file=sys.stderr)
        return 1
    try:
        fits = tune(trace, args.chunk_size, args.margin / 100, progress=not args.no_progress)
    except ValueError as e:
        print(f"chunkalloc tune: {e}", file=sys.stderr)
        return 1
    best = fits[0]
    print(f"{args.trace}: {len(trace.ops)} records; traced pool {trace.chunks} chunks of"
          f" {trace.chunk_size} B = {trace.pool_bytes} B, {len(trace.failures())} found no room")
    if trace.dropped:
        print(f"note: the first {trace.dropped} records were dropped on the device")
    print(table(fits))
    print(f"min chunks: the smallest pool on which the trace replays with no failures;"
          f" chunks: that plus {args.margin:g}% margin; RAM = pool + bitmap; * = recommended")
    print(f"recommend: chunk_size={best.chunk_size} chunks={best.chunks}"
          f" best_fit={best.best_fit} ({best.pool_bytes} B pool + {best.bitmap_bytes} B bitmap"
          f" = {best.ram} B)")
    print(f"  pool = chunkalloc.ChunkAllocator(chunkalloc.heap({best.chunks}, {best.chunk_size}),"
          f" chunkalloc.heap_bitmap({best.chunks}), {best.chunk_size}"
          + ("" if best.best_fit else ", best_fit=False") + ")")
    return 0
