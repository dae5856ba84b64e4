"""A text heap map of a chunkalloc pool, in the style of micropython.mem_info(1),
and its fragmentation metrics: one character per chunk, 64 to a line ('.' free,
'h' head: an allocation starts here, '=' tail), each line led by the byte offset
of its first chunk in hex. Walking the pool allocates nothing; only show()'s
printing does. Not reentrant: do not call show() from an interrupt handler.

The interface as a stub (the code is chunkalloc_map.py beside it).
"""

from typing import Callable, Union

from chunkalloc import ChunkAllocator, LockedChunkAllocator
from chunkalloc_trace import Recorder

LINE: int
"""Chunks per line, as in mem_info(1)."""

def row(pool: Union[ChunkAllocator, Recorder], start: int, buf: bytearray) -> int:
    """Write the map characters of chunks start.. into buf; return how many
    (fewer than len(buf) on the last line) or -1 if all of them are free."""

def measure(pool: Union[ChunkAllocator, Recorder], out: list[int]) -> None:
    """out[0:4] = free chunks, free runs, largest free run, sum of squared
    free run lengths (all in chunks). out must have 4 items."""

def fragmentation(free: int, squares: int) -> float:
    """umm_malloc's fragmentation percentage from measure()'s numbers."""

def show(
    pool: Union[ChunkAllocator, LockedChunkAllocator, Recorder],
    out: Callable[[str], object] = print,
) -> None:
    """Print the heap map and metrics of pool (a ChunkAllocator or a wrapper),
    a line at a time through out."""
