"""Replay a device's allocation trace on the CPython path of the real allocator.

The replay pool is a firmware/chunkalloc/chunkalloc.py ChunkAllocator of any chunk size and
pool size, best-fit on or off. Trace offsets are the device's; the replay keeps
a map from each live device offset to its own offset. With the device's
geometry, policy and heap base (mod 65536) a replay makes the very same
placements, so it fails exactly where the device failed.

Where the two diverge, the replay follows the program, not the device:
- an allocation the device could not make but the replay can is freed at once
  (the program got -1 and went on, so its lifetime is unknown);
- a free or realloc of a block the replay never got (it found no room, or the
  record was dropped from the ring) is skipped and counted as unmatched.
"""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass, field

from tqdm import tqdm

from . import LIBRARY
from .tracefile import BASE_MOD, Trace

if str(LIBRARY) not in sys.path:
    sys.path.insert(0, str(LIBRARY))
import chunkalloc  # noqa: E402  (firmware/chunkalloc/chunkalloc.py, on the CPython path)

PROGRESS_OPS = 20000  # show a progress bar for replays longer than this
SKIPPED = -2  # result of an unmatched free or realloc


@dataclass
class Result:
    chunk_size: int
    best_fit: bool
    chunks: int
    results: list[int] = field(default_factory=list)  # per op: offset; -1 no room; SKIPPED; 0 free
    failures: int = 0  # allocations and reallocs that found no room
    unmatched: int = 0  # frees and reallocs of blocks the replay never had
    peak_chunks: int = 0
    peak_requested: int = 0  # bytes the program had asked for when peak_chunks was reached
    requested_at_first_failure: int | None = None

    @property
    def pool_bytes(self) -> int:
        return self.chunks * self.chunk_size

    @property
    def peak_bytes(self) -> int:
        return self.peak_chunks * self.chunk_size

    @property
    def peak_usage(self) -> float:
        """Percent of the pool in use at the peak."""
        return 100.0 * self.peak_chunks / self.chunks

    @property
    def waste(self) -> float:
        """Internal waste at the peak: percent of the chunks in use not asked for."""
        return 100.0 - 100.0 * self.peak_requested / self.peak_bytes if self.peak_bytes else 0.0

    @property
    def efficiency(self) -> float | None:
        """talc's heap efficiency: percent of the pool holding live requested
        bytes at the first failed allocation; None if nothing failed."""
        if self.requested_at_first_failure is None:
            return None
        return 100.0 * self.requested_at_first_failure / self.pool_bytes

    def failed_ops(self) -> list[int]:
        return [n for n, r in enumerate(self.results) if r == -1]


def make_pool(chunks: int, chunk_size: int, best_fit: bool, base: int = 0) -> chunkalloc.ChunkAllocator:
    """A pool whose heap starts at an address = base (mod 65536), rounded down to
    a multiple of chunk_size, like the device's."""
    if chunks < 1:
        raise ValueError(f"a pool needs at least one chunk, got {chunks}")
    size = chunks * chunk_size
    raw = bytearray(size + BASE_MOD)
    want = base % BASE_MOD & ~(chunk_size - 1)
    address = ctypes.addressof(ctypes.c_char.from_buffer(raw))  # chunkalloc_pure's, on CPython
    skip = (want - address) % BASE_MOD
    heap = memoryview(raw)[skip:skip + size]
    return chunkalloc.ChunkAllocator(heap, chunkalloc.heap_bitmap(chunks), chunk_size,
                                     True, best_fit)


def replay(trace: Trace, chunk_size: int | None = None, best_fit: bool = True,
           pool_bytes: int | None = None, progress: bool | None = None) -> Result:
    """Run trace's ops on a pool of pool_bytes (default: the device's) cut into
    chunk_size chunks (default: the device's)."""
    cs = chunk_size or trace.chunk_size
    chunks = (pool_bytes or trace.pool_bytes) // cs
    pool = make_pool(chunks, cs, best_fit, trace.base)
    out = Result(cs, best_fit, chunks)
    live: dict[int, int] = {}  # device offset -> replay offset
    requested: dict[int, int] = {}  # replay offset -> bytes asked for
    total = 0  # bytes asked for, live

    def failed() -> int:
        out.failures += 1
        if out.requested_at_first_failure is None:
            out.requested_at_first_failure = total
        return -1

    ops = trace.ops
    if progress or (progress is None and len(ops) > PROGRESS_OPS):
        ops = tqdm(ops, desc=f"replay {cs:>4} B best_fit={int(best_fit)}", unit="op",
                   leave=False, file=sys.stderr)
    for op in ops:
        got = 0
        if op.kind == "a":
            got = pool.try_alloc(op.size, op.align)
            if got < 0:
                got = failed()
            elif op.result < 0:  # the device found no room: the program never had it
                pool.free(got)
            else:
                live[op.result] = got
                requested[got] = op.size
                total += op.size
        elif op.kind == "f":
            mine = live.pop(op.offset, None)
            if mine is None:
                out.unmatched += 1
                got = SKIPPED
            else:
                pool.free(mine)
                total -= requested.pop(mine)
        else:
            mine = live.pop(op.offset, None)
            keep = op.result if op.result >= 0 else op.offset  # where the device has it now
            if mine is None:
                out.unmatched += 1
                got = SKIPPED if op.result < 0 else pool.try_alloc(op.size, op.align)
                if got >= 0:
                    live[keep] = got
                    requested[got] = op.size
                    total += op.size
                elif op.result >= 0:
                    got = failed()
            else:
                try:
                    got = pool.realloc(mine, op.size, op.align)
                except MemoryError:
                    live[keep] = mine
                    got = failed()
                else:
                    live[keep] = got
                    total += op.size - requested.pop(mine)
                    requested[got] = op.size
        out.results.append(got)
        if pool.used > out.peak_chunks:
            out.peak_chunks = pool.used
            out.peak_requested = total
    return out
