# Buffers with guard regions for the memory-safety tests: a heap inside a
# larger bytearray with guard bytes before and after it, and a bitmap longer
# than its two rows (the bytes past them are not the allocator's). Guard bytes
# hold a pattern that no call of the allocator may change.

import chunkalloc

GUARD = 64  # bytes each side


def _pattern(j):
    return (0xA5 + j * 29) & 0xFF


class Guarded:
    """A pool of chunks * chunk_size bytes on the current kernel, with guards."""

    def __init__(self, chunks, chunk_size, kernel, best_fit=True):
        size = chunks * chunk_size
        self.raw = bytearray(GUARD + size + GUARD)
        for j in range(GUARD):
            self.raw[j] = _pattern(j)
            self.raw[GUARD + size + j] = _pattern(GUARD + j)
        self.heap = memoryview(self.raw)[GUARD:GUARD + size]
        rows = ((chunks + 31) >> 5) << 3
        self.rows = rows
        self.bits = bytearray(rows + GUARD)
        for j in range(GUARD):
            self.bits[rows + j] = _pattern(2 * GUARD + j)
        self.a = chunkalloc.ChunkAllocator(self.heap, self.bits, chunk_size, kernel, best_fit)

    def intact(self):
        """The first guard byte changed, as a message; None when all are intact."""
        size = len(self.heap)
        for j in range(GUARD):
            if self.raw[j] != _pattern(j):
                return "heap guard byte %d before the heap changed" % (GUARD - j)
            if self.raw[GUARD + size + j] != _pattern(GUARD + j):
                return "heap guard byte %d after the heap changed" % j
            if self.bits[self.rows + j] != _pattern(2 * GUARD + j):
                return "bitmap guard byte %d past the rows changed" % j
        return None
