"""chunkalloc: a fixed-size chunk allocator for MicroPython (and CPython).

One static buffer, the heap, is cut into chunks of chunk_size bytes (a power
of two). An allocation is a run of whole chunks, handed out as an int offset
into the heap (or a memoryview of it). All bookkeeping lives in a second
static buffer, the bitmap: two bits per chunk, rounded up to 32-bit words.

After construction, alloc (when it succeeds), try_alloc, free, realloc,
size_of, check and the counters used and allocations allocate nothing on the
GC heap: they work under micropython.heap_lock() and in hard IRQs. Bad input
raises ValueError or TypeError with a message and changes nothing.

The interface as a stub (the code is chunkalloc.py beside it).
"""

from typing import Iterator, TypedDict, Union

# A pool's memory: heap() gives a memoryview (a bytearray on ports without one)
_Buffer = Union[bytearray, memoryview]
# What free() and the other calls on a live allocation take: an offset into the
# heap, or a view of it from alloc_view() or view()
_Handle = Union[int, memoryview]

# What chunkalloc shares with chunkalloc_setup and chunkalloc_extras, the code of
# ChunkAllocator that loads when needed (not for programs)
from types import ModuleType
def address_of(buffer: _Buffer) -> int: ...
def _errors() -> ModuleType: ...
def _load(name: str, once: bool = ...) -> ModuleType: ...
def _kernel(name: str) -> ModuleType | None: ...
_kernels: dict[str, ModuleType | None]
_NAMES: tuple[str, ...]
_memoryview: type[memoryview] | None

KERNELS: tuple[str, ...]
"""Names of the bit kernels this runtime has, best first, from ("c", "viper", "pure")."""

class _Stats(TypedDict):
    """What ChunkAllocator.stats() returns; counts are in chunks."""

    chunks: int
    chunk_size: int
    used: int
    free: int
    allocations: int
    largest_free: int
    free_runs: int
    fragmentation: float
    """umm_malloc's: 100 - 100 * sqrt(sum(f*f)) / sum(f) over free runs f; 0 when
    all free memory is one run."""

def heap(chunks: int, chunk_size: int) -> _Buffer:
    """A writable buffer of chunks * chunk_size bytes starting at an address
    aligned to chunk_size (where the port can tell addresses).

    ValueError unless chunk_size is a power of two and chunks >= 1."""

def heap_bitmap(chunks: int) -> bytearray:
    """A zeroed bytearray for the bookkeeping of chunks chunks: 2 bits each,
    rounded up to whole 32-bit words."""

class ChunkAllocator:
    """Allocates runs of chunks from heap, bookkeeping in bitmap.

    fast=True takes the best kernel of KERNELS, False the pure one, a str that
    kernel (ValueError if this runtime has none of that name). best_fit=False
    turns the search into plain next-fit. ValueError or TypeError on a heap
    that is not a whole number of chunks, a chunk_size that is not a power of
    two, or a bitmap too small (see heap_bitmap())."""

    heap: _Buffer
    """The heap buffer itself: index it with offsets."""
    chunk_size: int
    """Bytes per chunk (a power of two)."""
    chunks: int
    """Chunks in the heap."""
    best_fit: bool
    """Whether a search compares the next fitting gaps with the first fit."""

    def __init__(
        self,
        heap: _Buffer,
        bitmap: bytearray,
        chunk_size: int,
        fast: Union[bool, str] = True,
        best_fit: bool = True,
    ) -> None: ...
    @property
    def used(self) -> int:
        """Chunks in use."""
    @property
    def allocations(self) -> int:
        """Live allocations."""
    @property
    def kernel(self) -> str:
        """Name of the bit kernel in use: one of KERNELS."""
    @property
    def fast(self) -> bool:
        """True unless the pure kernel is in use."""
    def offset_of(self, handle: _Handle) -> int:
        """The heap offset a handle (an int offset or a memoryview) stands for."""
    def try_alloc(self, size: int, align: int = 1) -> int:
        """Offset of a new allocation of size bytes whose address is a multiple
        of align (a power of two), or -1 when there is no room. Raises nothing
        for lack of room: the form for IRQs and heap-locked code."""
    def alloc(self, size: int, align: int = 1) -> int:
        """Offset of a new allocation of size bytes; MemoryError if no room."""
    def alloc_zeroed(self, size: int, align: int = 1) -> int:
        """As alloc(), with the allocation's whole capacity zeroed."""
    def free(self, handle: _Handle) -> None:
        """Free the allocation at handle (an offset, or a view from alloc_view/view);
        no size needed."""
    def realloc(self, offset: _Handle, new_size: int, align: int = 1) -> int:
        """Resize in place when possible, else move (and copy); new offset.

        On MemoryError the allocation is intact and unchanged."""
    def size_of(self, offset: _Handle) -> int:
        """Capacity in bytes of the allocation at offset (whole chunks)."""
    def address(self, offset: int) -> int:
        """Machine address of heap[offset] (for DMA registers and the like)."""
    def view(self, offset: _Handle, size: Union[int, None] = None) -> memoryview:
        """A memoryview of the live allocation at offset: size bytes, or all of it."""
    def alloc_view(self, size: int, align: int = 1) -> memoryview:
        """A memoryview of exactly size bytes of a new allocation; MemoryError if
        no room. Free it with free(view)."""
    def usage(self) -> float:
        """Percent of chunks in use."""
    def chunk_kind(self, i: int) -> int:
        """0 if chunk i is free, 1 if it starts an allocation (head), 2 if it
        continues one (tail): the letters . h = of a heap map."""
    def gaps(self) -> Iterator[tuple[int, int]]:
        """Yield (start chunk, length) of every run of free chunks."""
    def stats(self) -> _Stats:
        """Counters and fragmentation metrics, in chunks."""
    def check(self) -> None:
        """Raise RuntimeError if the bookkeeping is inconsistent; else None."""

class LockedChunkAllocator:
    """A ChunkAllocator guarded for _thread threads and interrupt handlers.

    Each call disables interrupts (machine.disable_irq, where the port has it)
    and holds a _thread lock (where the port has threads); both are released
    before it returns or raises. Allocates nothing either."""

    allocator: ChunkAllocator
    """The allocator it guards."""

    def __init__(self, allocator: ChunkAllocator) -> None: ...
    @property
    def used(self) -> int:
        """Chunks in use."""
    @property
    def allocations(self) -> int:
        """Live allocations."""
    @property
    def kernel(self) -> str:
        """Name of the guarded allocator's bit kernel: one of KERNELS."""
    @property
    def fast(self) -> bool:
        """True unless the guarded allocator uses the pure kernel."""
    def try_alloc(self, size: int, align: int = 1) -> int:
        """Offset of a new allocation, or -1 when there is no room."""
    def alloc(self, size: int, align: int = 1) -> int:
        """Offset of a new allocation of size bytes; MemoryError if no room."""
    def alloc_zeroed(self, size: int, align: int = 1) -> int:
        """As alloc(), with the allocation's whole capacity zeroed."""
    def alloc_view(self, size: int, align: int = 1) -> memoryview:
        """A memoryview of exactly size bytes of a new allocation."""
    def free(self, handle: _Handle) -> None:
        """Free the allocation at handle (an offset or a view)."""
    def realloc(self, offset: _Handle, new_size: int, align: int = 1) -> int:
        """Resize in place when possible, else move (and copy); new offset."""
    def size_of(self, offset: _Handle) -> int:
        """Capacity in bytes of the allocation at offset (whole chunks)."""
    def view(self, offset: _Handle, size: Union[int, None] = None) -> memoryview:
        """A memoryview of the live allocation at offset: size bytes, or all of it."""
    def usage(self) -> float:
        """Percent of chunks in use."""
    def stats(self) -> _Stats:
        """Counters and fragmentation metrics, in chunks."""
    def check(self) -> None:
        """Raise RuntimeError if the bookkeeping is inconsistent; else None."""
