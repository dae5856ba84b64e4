"""`chunkalloc trace`: record a workload's allocations on a target into a trace file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import tracefile
from .target import add_target_arguments, open_target
from .workload import add_workload_arguments, workload_code

HELP = "record the demo's (or a script's) allocations on the target into a trace file"

# Wraps the workload's pool in a Recorder, runs it, prints the trace. MicroPython 1.9 syntax.
DRIVER = """
import chunkalloc_trace
_pool = chunkalloc_trace.Recorder(make_pool(), {records})
run(_pool, {seconds!r})
chunkalloc_trace.dump(_pool)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    add_workload_arguments(parser, seconds=0.05)
    parser.add_argument("--records", type=int, default=30000,
                        help="ring buffer size in records (20 bytes each); the oldest are"
                             " dropped beyond it (default 30000)")
    parser.add_argument("--out", type=Path, default=Path("trace.txt"), help="the trace file to write")


def trace_code(script: Path | None, seconds: float, records: int) -> str:
    return workload_code(script) + DRIVER.format(records=records, seconds=seconds)


def run(args: argparse.Namespace) -> int:
    target = open_target(args.board, args.port, micropython=args.micropython)
    done = target.run(trace_code(args.script, args.seconds, args.records), capture=True)
    if done.returncode:
        print(done.stdout, end="", file=sys.stderr)
        print(f"chunkalloc trace: the workload failed (exit {done.returncode})", file=sys.stderr)
        return 1
    try:
        text = tracefile.extract(done.stdout)
        trace = tracefile.parse(text, f"{args.board} output")
    except tracefile.TraceError as e:
        print(f"chunkalloc trace: {e}", file=sys.stderr)
        return 1
    tracefile.write(args.out, trace)
    print(f"{args.out}: {len(trace.ops)} records from a pool of {trace.chunks} chunks of"
          f" {trace.chunk_size} B; {len(trace.failures())} found no room")
    if trace.dropped:
        print(f"chunkalloc trace: warning: the ring dropped the first {trace.dropped} records;"
              f" replays start mid-run (use more --records or fewer --seconds)", file=sys.stderr)
    return 0
