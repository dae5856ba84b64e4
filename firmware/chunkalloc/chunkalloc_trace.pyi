"""An opt-in allocation trace: Recorder wraps a ChunkAllocator, answers the same
calls, and logs each alloc, free and realloc into a ring buffer made when it is
built, so recording allocates nothing. When the ring is full the oldest records
are dropped. dump() prints the trace file format that `chunkalloc replay` and
`chunkalloc tune` read.

    pool = chunkalloc_trace.Recorder(demo.make_pool(), 4096)
    ... use pool as the allocator ...
    chunkalloc_trace.dump(pool)

The interface as a stub (the code is chunkalloc_trace.py beside it).
"""

from array import array
from typing import Callable, Union

from chunkalloc import ChunkAllocator, _Buffer, _Handle, _Stats

ALLOC: int
"""Record op: try_alloc, alloc, alloc_zeroed or alloc_view."""
FREE: int
"""Record op: free."""
REALLOC: int
"""Record op: realloc."""

class Recorder:
    """A ChunkAllocator that logs its allocations into a ring of capacity records.

    Each record is five ints of records: op, handle, size, align, result.
    ValueError unless capacity is an int >= 1."""

    allocator: ChunkAllocator
    """The allocator it wraps."""
    capacity: int
    """Records the ring holds."""
    records: array[int]
    """The ring: capacity records of five ints each."""
    count: int
    """Records ever logged; the ring holds the last capacity of them."""
    heap: _Buffer
    chunks: int
    chunk_size: int

    def __init__(self, allocator: ChunkAllocator, capacity: int = 1024) -> None: ...
    @property
    def used(self) -> int:
        """Chunks in use."""
    @property
    def allocations(self) -> int:
        """Live allocations."""
    @property
    def fast(self) -> bool:
        """True unless the wrapped allocator uses the pure kernel."""
    def try_alloc(self, size: int, align: int = 1) -> int:
        """Offset of a new allocation, or -1 when there is no room (logged)."""
    def alloc(self, size: int, align: int = 1) -> int:
        """Offset of a new allocation; MemoryError if no room (logged)."""
    def alloc_zeroed(self, size: int, align: int = 1) -> int:
        """As alloc(), with the allocation's whole capacity zeroed (logged)."""
    def alloc_view(self, size: int, align: int = 1) -> memoryview:
        """A memoryview of exactly size bytes of a new allocation (logged)."""
    def free(self, handle: _Handle) -> None:
        """Free the allocation at handle (logged; a bad handle logs nothing)."""
    def realloc(self, offset: _Handle, new_size: int, align: int = 1) -> int:
        """Resize in place when possible, else move (and copy); new offset (logged)."""
    def size_of(self, offset: _Handle) -> int:
        """Capacity in bytes of the allocation at offset (whole chunks)."""
    def view(self, offset: _Handle, size: Union[int, None] = None) -> memoryview:
        """A memoryview of the live allocation at offset: size bytes, or all of it."""
    def address(self, offset: int) -> int:
        """Machine address of heap[offset]."""
    def chunk_kind(self, i: int) -> int:
        """0 free, 1 head, 2 tail."""
    def usage(self) -> float:
        """Percent of chunks in use."""
    def stats(self) -> _Stats:
        """Counters and fragmentation metrics, in chunks."""
    def check(self) -> None:
        """Raise RuntimeError if the bookkeeping is inconsistent; else None."""

def dump(recorder: Recorder, out: Callable[[str], object] = print) -> None:
    """Print the recorded trace, oldest record first, in the trace file format,
    a line at a time through out."""
