"""Pick a chunk size and a pool size for a trace, by replaying it.

For each chunk size and best-fit setting, find the smallest pool (in chunks) on
which the trace replays with no failures: start from the peak number of chunks
the program holds at once (no pool can be smaller), double until nothing
fails, then bisect. Add the margin, and count the RAM it costs: the pool plus
its bitmap (2 bits a chunk, in 32-chunk words). The recommendation is the
cheapest in RAM; ties go to the larger chunk size (fewer chunks to search).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from tqdm import tqdm

from .replay import Result, replay
from .tracefile import Trace

MAX_GROWTH = 1 << 12  # give up beyond this many times the peak: the trace leaks


@dataclass
class Fit:
    chunk_size: int
    best_fit: bool
    min_chunks: int  # the smallest pool with no failures
    chunks: int  # recommended: min_chunks plus the margin
    result: Result  # the replay on the recommended pool
    replays: int

    @property
    def pool_bytes(self) -> int:
        return self.chunks * self.chunk_size

    @property
    def bitmap_bytes(self) -> int:
        return (self.chunks + 31) // 32 * 8

    @property
    def ram(self) -> int:
        return self.pool_bytes + self.bitmap_bytes


def peak_chunks(trace: Trace, chunk_size: int) -> int:
    """Most chunks of chunk_size the program holds at once (a lower bound on the pool)."""
    live: dict[int, int] = {}
    held = peak = 0
    for op in trace.ops:
        if op.kind == "f":
            held -= live.pop(op.offset, 0)
        elif op.result >= 0:  # an allocation or a realloc that the device made
            held -= live.pop(op.offset, 0) if op.kind == "r" else 0
            live[op.result] = -(-op.size // chunk_size)
            held += live[op.result]
        peak = max(peak, held)
    return peak


def smallest_pool(trace: Trace, chunk_size: int, best_fit: bool) -> tuple[int, int]:
    """(fewest chunks on which trace replays with no failures, replays it took)."""
    replays = 0

    def fits(chunks: int) -> bool:
        nonlocal replays
        replays += 1
        return replay(trace, chunk_size, best_fit, chunks * chunk_size, progress=False).failures == 0

    low = max(1, peak_chunks(trace, chunk_size))
    if fits(low):
        return low, replays
    high = low * 2
    while not fits(high):
        if high > low * MAX_GROWTH:
            raise ValueError(f"the trace fails even on {high} chunks of {chunk_size} B")
        low, high = high, high * 2
    while high - low > 1:  # fits(high), not fits(low)
        mid = (low + high) // 2
        if fits(mid):
            high = mid
        else:
            low = mid
    return high, replays


def tune(trace: Trace, chunk_sizes: list[int], margin: float = 0.25,
         progress: bool = True) -> list[Fit]:
    """A Fit for each chunk size and best-fit setting, cheapest in RAM first."""
    fits: list[Fit] = []
    combos = [(cs, bf) for cs in chunk_sizes for bf in (True, False)]
    for cs, bf in tqdm(combos, desc="tune", unit="pool", disable=not progress, file=sys.stderr):
        least, replays = smallest_pool(trace, cs, bf)
        chunks = math.ceil(least * (1 + margin))
        result = replay(trace, cs, bf, chunks * cs, progress=False)
        while result.failures:  # more room failed (the search assumes it never does)
            chunks += max(1, chunks // 16)
            result = replay(trace, cs, bf, chunks * cs, progress=False)
            replays += 1
        fits.append(Fit(cs, bf, least, chunks, result, replays + 1))
    fits.sort(key=lambda f: (f.ram, -f.chunk_size, not f.best_fit))
    return fits
