# The members of ChunkAllocator that no hot path needs: views,
# address, usage, chunk_kind, gaps, stats, fast and best_fit.
# ChunkAllocator.__getattr__ loads this module on the first use of one and puts
# that one on the class, so a pool that never asks costs none of their RAM;
# the hot path (alloc, alloc_zeroed, free, realloc, size_of, check, used,
# allocations) stays in chunkalloc.

import chunkalloc as _chunkalloc


@property
def fast(self):
    """True when native kernels (C or viper) are in use."""
    return self.kernel != "pure"


@property
def best_fit(self):
    """Whether a search compares the gaps that fit (ChunkAllocator(best_fit=...))."""
    return self._state[4] != 0  # chunkalloc._WINDOW


def address(self, offset):
    """Machine address of heap[offset] (for DMA registers and the like)."""
    return _chunkalloc.address_of(self.heap) + offset


def view(self, offset, size=None):
    """A memoryview of the live allocation at offset: size bytes, or all of it."""
    capacity = self.size_of(offset)
    if size is None:
        size = capacity
    elif not isinstance(size, int) or size < 0 or size > capacity:
        raise _chunkalloc._errors().view_size(size, capacity)
    memoryview = _chunkalloc._memoryview
    if memoryview is None:
        raise _chunkalloc._errors().no_memoryview("offsets")
    # a view of the heap made on each call unless the heap is one: a view kept of
    # a bytearray would keep its old items when Python resizes it (MicroPython
    # moves them and frees the old block)
    heap = self.heap
    return (heap if isinstance(heap, memoryview) else memoryview(heap))[offset:offset + size]


def alloc_view(self, size, align=1):
    """A memoryview of exactly size bytes of a new allocation."""
    if _chunkalloc._memoryview is None:
        raise _chunkalloc._errors().no_memoryview("alloc()")
    return view(self, self.alloc(size, align), size)


def usage(self):
    """Percent of chunks in use."""
    return self.used * 100.0 / self.chunks


def chunk_kind(self, i):
    """0 if chunk i is free, 1 if it starts an allocation (head), 2 if it
    continues one (tail): the letters . h = of a heap map."""
    if not 0 <= i < self.chunks:
        raise _chunkalloc._errors().chunk(i, self.chunks)
    bits = self._bits
    j = (self._nwords << 5) + i  # its head bit; (i & 7) == (j & 7)
    if not (bits[i >> 3] >> (i & 7)) & 1:
        return 0
    return 1 if (bits[j >> 3] >> (i & 7)) & 1 else 2


def gaps(self):
    """Yield (start chunk, length) of every run of free chunks of self."""
    next_bit = self._kernel.next_bit
    bits = self._bits
    nwords = self._nwords  # the bitmap by its own geometry, whatever the state says
    pos = 0
    while True:
        s = next_bit(bits, nwords, pos, 0)
        if s >= self.chunks:
            return
        pos = next_bit(bits, nwords, s, 1)
        yield s, pos - s


def stats(self):
    """A dict of counters and fragmentation metrics, in chunks.

    fragmentation is umm_malloc's: 100 - 100 * sqrt(sum(f*f)) / sum(f)
    over free runs f; 0 when all free memory is one run."""
    largest = runs = squares = 0
    for _, n in gaps(self):
        runs += 1
        squares += n * n
        largest = max(largest, n)
    free = self.chunks - self.used
    frag = 100.0 - 100.0 * squares ** 0.5 / free if free else 0.0
    return {
        "chunks": self.chunks, "chunk_size": self.chunk_size,
        "used": self.used, "free": free, "allocations": self.allocations,
        "largest_free": largest, "free_runs": runs, "fragmentation": frag,
    }
