# An opt-in allocation trace: Recorder wraps a ChunkAllocator, answers the same
# calls, and logs each alloc, free and realloc into a ring buffer made when it
# is built, so recording allocates nothing (proven under heap_lock() in
# tests/test_trace.py). When the ring is full the oldest records are dropped.
#
#   pool = chunkalloc_trace.Recorder(demo.make_pool(), 4096)
#   ... use pool as the allocator ...
#   chunkalloc_trace.dump(pool)          # print it for the host to parse
#
# Each record is five ints in an array('i'): op, handle, size, align, result.
#
#   op       handle       size      align   result
#   ALLOC    -1           size      align   offset, or -1: no room
#   FREE     offset       0         0       0
#   REALLOC  old offset   new size  align   new offset, or -1: no room
#
# dump() prints the trace file format (host/chunkalloc_host/tracefile.py reads it):
#
#   chunkalloc-trace 1
#   pool chunks=512 chunk_size=64 base=4096
#   dropped 0
#   a 100 4 0          alloc (try_alloc, alloc, alloc_zeroed, alloc_view): size align result
#   r 0 300 4 -1       realloc: offset new_size align result
#   f 0                free: offset
#   end 3
#
# base is the heap's address mod 65536: a replay needs it to place allocations
# aligned to more than a chunk exactly where the device did.

try:
    from array import array
except ImportError:
    from uarray import array

try:
    _memoryview = memoryview
except NameError:  # ports without memoryview (micro:bit 1.9)
    _memoryview = None

ALLOC = 1
FREE = 2
REALLOC = 3
_FIELDS = 5  # ints per record
_BASE_MOD = 0x10000


class Recorder:
    """A ChunkAllocator that logs its allocations into a ring of capacity records."""

    def __init__(self, allocator, capacity=1024):
        if not isinstance(capacity, int) or capacity < 1:
            raise ValueError("capacity must be an int >= 1 records")
        self.allocator = allocator
        self.capacity = capacity
        self.records = array("i", [0] * (_FIELDS * capacity))
        self.count = 0  # records ever logged; the ring holds the last capacity
        self.heap = allocator.heap
        self.chunks = allocator.chunks
        self.chunk_size = allocator.chunk_size

    def _log(self, op, handle, size, align, result):
        r = self.records
        i = (self.count % self.capacity) * _FIELDS
        r[i] = op
        r[i + 1] = handle
        r[i + 2] = size
        r[i + 3] = align
        r[i + 4] = result
        self.count += 1

    @property
    def used(self):
        return self.allocator.used

    @property
    def allocations(self):
        return self.allocator.allocations

    @property
    def fast(self):
        return self.allocator.fast

    def try_alloc(self, size, align=1):
        offset = self.allocator.try_alloc(size, align)
        self._log(ALLOC, -1, size, align, offset)
        return offset

    def alloc(self, size, align=1):
        offset = self.try_alloc(size, align)
        if offset < 0:
            raise MemoryError("chunkalloc: no room for %d bytes aligned to %d" % (size, align))
        return offset

    def alloc_zeroed(self, size, align=1):
        try:
            offset = self.allocator.alloc_zeroed(size, align)
        except MemoryError:
            self._log(ALLOC, -1, size, align, -1)
            raise
        self._log(ALLOC, -1, size, align, offset)
        return offset

    def alloc_view(self, size, align=1):
        if _memoryview is None:
            raise TypeError("this port has no memoryview; use alloc()")
        return self.allocator.view(self.alloc(size, align), size)

    def free(self, handle):
        self.allocator.free(handle)  # checks handle first: a bad one logs nothing
        self._log(FREE, self.allocator.offset_of(handle), 0, 0, 0)

    def realloc(self, offset, new_size, align=1):
        try:
            new = self.allocator.realloc(offset, new_size, align)
        except MemoryError:
            self._log(REALLOC, offset, new_size, align, -1)
            raise
        self._log(REALLOC, offset, new_size, align, new)
        return new

    def size_of(self, offset):
        return self.allocator.size_of(offset)

    def view(self, offset, size=None):
        return self.allocator.view(offset, size)

    def address(self, offset):
        return self.allocator.address(offset)

    def chunk_kind(self, i):
        return self.allocator.chunk_kind(i)

    def usage(self):
        return self.allocator.usage()

    def stats(self):
        return self.allocator.stats()

    def check(self):
        return self.allocator.check()


def dump(recorder, out=print):
    """Print the recorded trace, oldest record first, in the trace file format,
    a line at a time through out."""
    a = recorder.allocator
    out("chunkalloc-trace 1")
    out("pool chunks=%d chunk_size=%d base=%d"
          % (a.chunks, a.chunk_size, a.address(0) % _BASE_MOD))
    kept = min(recorder.count, recorder.capacity)
    out("dropped %d" % (recorder.count - kept))
    r = recorder.records
    n = recorder.count - kept
    while n < recorder.count:
        i = (n % recorder.capacity) * _FIELDS
        op = r[i]
        if op == FREE:
            out("f %d" % r[i + 1])
        elif op == ALLOC:
            out("a %d %d %d" % (r[i + 2], r[i + 3], r[i + 4]))
        else:
            out("r %d %d %d %d" % (r[i + 1], r[i + 2], r[i + 3], r[i + 4]))
        n += 1
    out("end %d" % kept)
