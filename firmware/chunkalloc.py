"""chunkalloc: a fixed-size chunk allocator for MicroPython (and CPython).

One static buffer, the heap, is cut into chunks of chunk_size bytes (a power
of two). An allocation is a run of whole chunks, handed out as an int offset
into the heap (or a memoryview of it). All bookkeeping lives in a second
static buffer, the bitmap: two bits per chunk, rounded up to 32-bit words.

Bitmap layout, for 40 chunks (nwords = 2): the used bits of every chunk, then
the head bits, each a row of nwords words; bit j & 31 of word j >> 5 (LSB
first) belongs to chunk j::

    word         0                                1
    used  [ c0 c1 c2 ... c31 ]  [ c32 ... c39 | 1 1 ... 1 ]   1 = in use
    head  [ c0 c1 c2 ... c31 ]  [ c32 ... c39 | 1 1 ... 1 ]   1 = run starts here
                                              `- padding past the last chunk:
                                                 always used and head, so no
                                                 search runs past the end

    chunk     0   1   2   3   4   5   6   7
    used      1   1   1   0   0   1   1   0      three allocations:
    head      1   0   1   0   0   1   0   0      [0,1] [2] [5,6]; free: 3,4,7

A run is a head chunk and the used, non-head chunks after it, so free() needs
no size, and size_of() is a scan to the next free or head chunk.

Policy: next-fit from a hint plus best-fit among gaps. A search walks the
gaps (runs of free chunks) from the hint to the end, then wraps round to the
hint. The first gap that fits is kept; with best_fit on, the next 8 gaps that
fit are compared with it and the smallest wins, and an exact fit stops the
search at once. After alloc the hint is the chunk after the new run (next-fit);
free leaves it alone. (Pointing it at the freed hole, as the seed's rewrite
does, made searches walk 24.6 gaps instead of 7.3 on the MCU mix for the same
heap efficiency: the hole is reused anyway once it is the best fit.)

Guarantees: an allocation's address (not only its offset) is a multiple of
align; after construction alloc (when it succeeds), try_alloc, free, realloc,
size_of, check and the counters used and allocations allocate nothing on the
GC heap, so they work under micropython.heap_lock() and in hard IRQs; bad
input raises ValueError or TypeError with a message and changes nothing.

Memory safety: no call reads or writes outside the heap and the bitmap,
whatever Python does to them or to the private state. The kernels bound every
run by the state's chunks and check its slots on every call (one that no
allocator could have written raises RuntimeError naming it); the C kernels
take the buffers' addresses and lengths on every call, so a bitmap or heap
resized under the allocator gives an error, not a write into freed memory.
The padding bits only stop searches early.
"""

from array import array

import chunkalloc_pure

# The kernels, best first. An import fails as ImportError where the module is
# not there (CPython has no .mpy loader), SyntaxError where the port has no
# native emitter, TypeError for viper code the port's compiler rejects
# (ViperTypeError), and ValueError for a .mpy the firmware cannot load ("native
# code in .mpy unsupported", "incompatible .mpy arch"), and MemoryError where
# the heap cannot hold the module's code: the next one serves.
try:
    import chunkalloc_c  # the C kernels: a dynamic native module (firmware/c/)
except (ImportError, SyntaxError, TypeError, ValueError, OSError, MemoryError):
    chunkalloc_c = None
try:
    import chunkalloc_viper
except (ImportError, SyntaxError, TypeError, ValueError, OSError, MemoryError):
    chunkalloc_viper = None

_BY_NAME = {"c": chunkalloc_c, "viper": chunkalloc_viper, "pure": chunkalloc_pure}
KERNELS = tuple(name for name in ("c", "viper", "pure") if _BY_NAME[name] is not None)

# A view's offset is its address minus the heap's. The pure kernels take both
# addresses with uctypes.addressof, a big int (allocated) when RAM lies above
# 2**30 on a 32-bit port (RISC-V virt: 0x80000000); native code subtracts the
# machine addresses and returns the small difference. So every kernel takes a
# view's offset from native code where the port has any: the decisions stay
# the kernel's own.
_native = chunkalloc_c or chunkalloc_viper
_offset_of = (_native or chunkalloc_pure).offset_of
address_of = (chunkalloc_c or chunkalloc_pure).address_of

try:
    _memoryview = memoryview
except NameError:  # MicroPython builds without memoryview (micro:bit 1.9)
    _memoryview = None

_BEST_FIT_GAPS = 8  # fitting gaps compared with the first fit (bench: 90 % at 8)
_ADDRESS_BITS = 0x3FFFFFFF  # addresses kept mod 2**30: a small int on every port

# ChunkAllocator._state, an array('i') shared with the kernels' alloc/release
_NWORDS = 0  # 32-bit words in each row of the bitmap
_SHIFT = 1  # log2(chunk_size)
_BASE = 2  # the heap's address mod 2**30
_HINT = 3  # where the next search starts
_WINDOW = 4  # fitting gaps compared with the first fit (0: best-fit off)
_USED = 5  # chunks in use
_ALLOCATIONS = 6  # live allocations
_CHUNKS = 7
_REFUSED = (TypeError, OverflowError, MemoryError)  # a kernel refusing an argument
_BASE_HI = 8  # the heap's address >> 30: the C kernels free a view by its address
# A kernel's answer CORRUPT - slot: that slot of _state holds what no allocator writes
_CORRUPT = -3
_SLOTS = ("nwords", "shift", "base", "hint", "window", "used", "allocations", "chunks")

try:
    _BufferError = BufferError
except NameError:  # MicroPython has none: its buffer errors are TypeError
    _BufferError = TypeError


def _words(chunks):
    return (chunks + 31) >> 5


def heap(chunks, chunk_size):
    """A writable buffer of chunks * chunk_size bytes starting at an address
    aligned to chunk_size (where the port can tell addresses)."""
    _check_geometry(chunks * chunk_size, chunk_size)
    size = chunks * chunk_size
    if _memoryview is None:
        return bytearray(size)
    raw = bytearray(size + chunk_size - 1)
    skip = (-address_of(raw)) & (chunk_size - 1)
    return _memoryview(raw)[skip:skip + size]


def heap_bitmap(chunks):
    """A zeroed bytearray for the bookkeeping of chunks chunks: 2 bits each,
    rounded up to whole 32-bit words."""
    if not isinstance(chunks, int):
        raise TypeError("chunks must be an int")
    if chunks < 1:
        raise ValueError("chunks must be >= 1, got %d" % chunks)
    return bytearray(_words(chunks) << 3)


def _corrupted(state, code):
    """The RuntimeError for a kernel's answer code <= _CORRUPT."""
    slot = _CORRUPT - code
    name = _SLOTS[slot] if 0 <= slot < len(_SLOTS) else "?"
    return RuntimeError("chunkalloc: private state corrupted: %s = %d (state %s)"
                        % (name, state[slot] if 0 <= slot < len(state) else 0, list(state)))


def _check_heap_buffer(heap):
    """Raise TypeError unless heap is a writable buffer of bytes: len() must count
    the bytes the kernels address."""
    if _memoryview is None:
        return
    try:
        view = _memoryview(heap)
    except TypeError:
        raise TypeError("heap must be a buffer (a bytearray, or a memoryview of one)")
    if _item_size(view) != 1:
        raise TypeError("heap must be a buffer of bytes: its items are %d bytes "
                        "(len() would count items, the kernels count bytes)" % _item_size(view))
    try:
        view[0:0] = b""  # TypeError where it is read-only, on both runtimes
    except TypeError:
        raise TypeError("heap must be writable: a bytearray, or a memoryview of one")


def _item_size(view):
    size = getattr(view, "itemsize", None)  # CPython, most MicroPython ports
    if size is not None:
        return size
    if len(view) < 2:
        return 1
    size = address_of(view[1:]) - address_of(view)
    return size if size > 0 else 1  # 0: this port cannot tell addresses


def _check_geometry(heap_len, chunk_size):
    if not isinstance(chunk_size, int):
        raise TypeError("chunk_size must be an int")
    if chunk_size < 1 or chunk_size & (chunk_size - 1):
        raise ValueError("chunk_size must be a power of two, got %d" % chunk_size)
    if heap_len < chunk_size or heap_len % chunk_size:
        raise ValueError("heap length %d is not a positive multiple of chunk_size %d"
                         % (heap_len, chunk_size))


class ChunkAllocator:
    """Allocates runs of chunks from heap, bookkeeping in bitmap."""

    def __init__(self, heap, bitmap, chunk_size, fast=True, best_fit=True):
        _check_heap_buffer(heap)
        _check_geometry(len(heap), chunk_size)
        if not isinstance(bitmap, bytearray):
            raise TypeError("bitmap must be a bytearray (see heap_bitmap())")
        if len(heap) > _ADDRESS_BITS:
            raise ValueError("heap of %d bytes: at most 2**30 - 1" % len(heap))
        chunks = len(heap) // chunk_size
        nwords = _words(chunks)
        if len(bitmap) < nwords << 3:
            raise ValueError("bitmap of %d bytes too small for %d chunks: need %d"
                             % (len(bitmap), chunks, nwords << 3))
        self.heap = heap  # the buffer itself: index it with offsets
        # a view of heap for view(): heap itself when it is a view; else one made on
        # each call, as a view kept of a bytearray would keep its old items when
        # Python resizes it (MicroPython moves them and frees the old block)
        self._view = heap if _memoryview is not None and isinstance(heap, _memoryview) else None
        self._bits = bitmap
        if isinstance(fast, str):  # a kernel by name
            if fast not in KERNELS:
                raise ValueError("kernel %r not available here: choose from %s" % (fast, KERNELS))
            kernel = fast
        else:  # True: the best one here; False: the pure one
            kernel = KERNELS[0] if fast else "pure"
        self.kernel = kernel  # "c", "viper" or "pure"
        self._kernel = _BY_NAME[kernel]
        # the hot path's kernel entries, looked up once (one native call each)
        self._alloc = self._kernel.alloc
        self._release = self._kernel.release
        self._resize = self._kernel.resize
        self.chunk_size = chunk_size
        self.chunks = chunks
        self.best_fit = best_fit
        shift = 0
        while 1 << shift < chunk_size:
            shift += 1
        self._shift = shift
        self._nwords = nwords  # Python code here reads the bitmap by its own geometry
        # All that alloc and free read or change, in one array of ints that a
        # single kernel call updates (slots _NWORDS .. _CHUNKS)
        address = address_of(heap)
        self._state = array("i", [nwords, shift, address & _ADDRESS_BITS,
                                  0, _BEST_FIT_GAPS if best_fit else 0, 0, 0, chunks,
                                  address >> 30])
        if kernel == "c" and chunkalloc_c is not None:  # each hot method one native call, no bytecode frame
            op = chunkalloc_c.op
            for kind, name in enumerate(("try_alloc", "alloc", "free", "realloc")):
                setattr(self, name, op(kind, bitmap, self._state, heap, self,
                                       getattr(ChunkAllocator, name)))
        fill = self._kernel.fill
        total = nwords << 5
        fill(bitmap, 0, total << 1, 0)  # bytes past both rows are not ours: left alone
        fill(bitmap, chunks, total - chunks, 1)  # padding: used ...
        fill(bitmap, total + chunks, total - chunks, 1)  # ... and head

    @property
    def used(self):
        """Chunks in use."""
        return self._state[_USED]

    @property
    def allocations(self):
        """Live allocations."""
        return self._state[_ALLOCATIONS]

    @property
    def fast(self):
        """True when native kernels (C or viper) are in use."""
        return self.kernel != "pure"

    # -- validation: each returns what it checked, or raises ------------------

    def _chunks_for(self, size):
        if not isinstance(size, int):
            raise TypeError("size must be an int")
        if size < 1:
            raise ValueError("size must be >= 1, got %d" % size)
        return (size + self.chunk_size - 1) // self.chunk_size

    def _check_align(self, align):
        if not isinstance(align, int):
            raise TypeError("align must be an int")
        if align < 1 or align & (align - 1) or align > _ADDRESS_BITS:
            raise ValueError("align must be a power of two up to 2**29, got %d" % align)

    def offset_of(self, handle):
        """The heap offset a handle (an int offset or a memoryview) stands for."""
        if isinstance(handle, int):
            return handle
        if _memoryview is not None and isinstance(handle, _memoryview):
            try:
                return _offset_of(self.heap, handle)
            except (_BufferError, TypeError):  # CPython: a view with strides
                raise TypeError("handle must be an int offset or a contiguous memoryview")
        raise TypeError("handle must be an int offset or a memoryview")

    def _head(self, handle):
        """Chunk index of the live allocation handle (offset or memoryview)."""
        offset = self.offset_of(handle)
        i = offset // self.chunk_size
        if (offset < 0 or offset % self.chunk_size or i >= self.chunks
                or not self._bit(((self._nwords << 5) + i))):
            raise ValueError("%d is not the offset of a live allocation" % offset)
        return i

    def _bit(self, j):
        return (self._bits[j >> 3] >> (j & 7)) & 1

    def _run(self, i):
        end = self._kernel.run_end(self._bits, self._nwords, i)
        return (end if end < self.chunks else self.chunks) - i  # padding bits cleared: still

    # -- the interface ---------------------------------------------------------

    # The hot path: one kernel call per operation, given only ints that a
    # machine word holds whole (viper truncates a big int to its low bits: on a
    # 32-bit port free(2**40) freed offset 0); the bounds are literals, so no
    # name is looked up. The kernel checks its
    # arguments itself and answers -2 when they are bad; viper raises instead
    # for what is no int it can take (TypeError, OverflowError; MemoryError
    # under heap_lock(), where its message cannot be made), before it changes
    # anything. Only then the checks here run, to raise with a message.

    def try_alloc(self, size, align=1):
        """Offset of a new allocation, or -1 when there is no room."""
        try:
            offset = (self._alloc(self._bits, self._state, size, align)
                      if -0x3FFFFFFF <= size <= 0x3FFFFFFF and -0x3FFFFFFF <= align <= 0x3FFFFFFF
                      else -2)
            if offset >= -1:
                return offset
            if offset <= _CORRUPT:
                raise _corrupted(self._state, offset)
        except _REFUSED:  # not ints, or no machine word
            pass
        self._chunks_for(size)
        self._check_align(align)
        return -1  # valid, but larger than any heap

    def alloc(self, size, align=1):
        """Offset of a new allocation of size bytes; MemoryError if no room."""
        try:
            offset = (self._alloc(self._bits, self._state, size, align)
                      if -0x3FFFFFFF <= size <= 0x3FFFFFFF and -0x3FFFFFFF <= align <= 0x3FFFFFFF
                      else -2)
            if offset >= 0:
                return offset
        except _REFUSED:
            offset = -2
        if offset <= _CORRUPT:
            raise _corrupted(self._state, offset)
        if offset == -2:
            self._chunks_for(size)
            self._check_align(align)
        raise MemoryError("chunkalloc: no room for %d bytes aligned to %d" % (size, align))

    def alloc_zeroed(self, size, align=1):
        self._check_heap()
        offset = self.alloc(size, align)
        self._kernel.zero(self.heap, offset, self.size_of(offset))
        return offset

    def _check_heap(self):
        """RuntimeError unless the heap still holds all chunks (Python can shrink a
        bytearray under the allocator) and the state's geometry is the allocator's:
        checked before Python code writes heap bytes at offsets from the kernels."""
        state = self._state
        if state[_SHIFT] != self._shift or state[_CHUNKS] != self.chunks:
            raise _corrupted(state, _CORRUPT - (_SHIFT if state[_SHIFT] != self._shift
                                                else _CHUNKS))
        if len(self.heap) < self.chunks * self.chunk_size:
            raise RuntimeError("chunkalloc: the heap was resized under the allocator: "
                               "%d bytes, %d chunks of %d needed"
                               % (len(self.heap), self.chunks, self.chunk_size))

    def free(self, handle):
        """Free the allocation at handle (an offset, or a view from alloc_view/view)."""
        try:
            freed = (self._release(self._bits, self._state, handle)
                     if -0x3FFFFFFF <= handle <= 0x3FFFFFFF else -1)  # a view: TypeError
            if freed > 0:
                return
            if freed <= _CORRUPT:
                raise _corrupted(self._state, freed)
        except _REFUSED:  # a memoryview (viper, pure), no handle at all
            pass
        i = self._head(handle)  # raises for anything but a live view
        freed = self._release(self._bits, self._state, i * self.chunk_size)
        if freed <= _CORRUPT:
            raise _corrupted(self._state, freed)

    def realloc(self, offset, new_size, align=1):
        """Resize in place when possible, else move (and copy); new offset.

        On MemoryError the allocation is intact and unchanged."""
        state = self._state
        try:
            new = (self._resize(self._bits, state, offset, new_size, align)
                   if -0x3FFFFFFF <= offset <= 0x3FFFFFFF and -0x3FFFFFFF <= new_size <= 0x3FFFFFFF
                   and -0x3FFFFFFF <= align <= 0x3FFFFFFF else -2)
            if new >= 0:
                return new
        except _REFUSED:
            new = -2
        if new <= _CORRUPT:
            raise _corrupted(state, new)
        if new == -2:  # a view, or bad arguments: check, then try in place again
            offset = self._head(offset) * self.chunk_size
            self._chunks_for(new_size)
            self._check_align(align)
            new = self._resize(self._bits, state, offset, new_size, align) \
                if new_size <= _ADDRESS_BITS else -1
            if new >= 0:
                return new
            if new <= _CORRUPT:
                raise _corrupted(state, new)
        # it must move: size and align are valid, offset is live
        self._check_heap()
        k = (new_size + self.chunk_size - 1) // self.chunk_size
        old = self._run(offset // self.chunk_size)
        new = self._alloc(self._bits, state, new_size, align) if new_size <= _ADDRESS_BITS else -1
        if new <= _CORRUPT:
            raise _corrupted(state, new)
        if new < 0:
            raise MemoryError("chunkalloc: no room to move %d bytes aligned to %d"
                              % (new_size, align))
        self._kernel.copy(self.heap, new, offset, min(k, old) * self.chunk_size)
        self._release(self._bits, state, offset)
        return new

    def size_of(self, offset):
        """Capacity in bytes of the allocation at offset (whole chunks)."""
        i = self._head(offset)
        return self._run(i) * self.chunk_size

    def address(self, offset):
        """Machine address of heap[offset] (for DMA registers and the like)."""
        return address_of(self.heap) + offset

    def view(self, offset, size=None):
        """A memoryview of the live allocation at offset: size bytes, or all of it."""
        capacity = self.size_of(offset)
        if size is None:
            size = capacity
        elif not isinstance(size, int):
            raise TypeError("size must be an int or None")
        elif size < 0 or size > capacity:
            raise ValueError("size %d outside the allocation's 0..%d bytes" % (size, capacity))
        if _memoryview is None:
            raise TypeError("this port has no memoryview; use offsets")
        view = self._view if self._view is not None else _memoryview(self.heap)
        return view[offset:offset + size]

    def alloc_view(self, size, align=1):
        """A memoryview of exactly size bytes of a new allocation."""
        if _memoryview is None:
            raise TypeError("this port has no memoryview; use alloc()")
        return self.view(self.alloc(size, align), size)

    def usage(self):
        """Percent of chunks in use."""
        return self.used * 100.0 / self.chunks

    def chunk_kind(self, i):
        """0 if chunk i is free, 1 if it starts an allocation (head), 2 if it
        continues one (tail): the letters . h = of a heap map."""
        if not 0 <= i < self.chunks:
            raise ValueError("chunk %d outside 0..%d" % (i, self.chunks - 1))
        if not self._bit(i):
            return 0
        return 1 if self._bit((self._nwords << 5) + i) else 2

    def gaps(self):
        """Yield (start chunk, length) of every run of free chunks."""
        next_bit = self._kernel.next_bit
        pos = 0
        while True:
            s = next_bit(self._bits, self._nwords, pos, 0)
            if s >= self.chunks:
                return
            pos = next_bit(self._bits, self._nwords, s, 1)
            yield s, pos - s

    def stats(self):
        """A dict of counters and fragmentation metrics, in chunks.

        fragmentation is umm_malloc's: 100 - 100 * sqrt(sum(f*f)) / sum(f)
        over free runs f; 0 when all free memory is one run."""
        largest = runs = squares = 0
        for _, n in self.gaps():
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

    def check(self):
        """Raise RuntimeError if the bookkeeping is inconsistent; else None."""
        state = self._state  # first the geometry: what the kernels index by
        slot = (_NWORDS if state[_NWORDS] != self._nwords else _SHIFT
                if state[_SHIFT] != self._shift else _CHUNKS if state[_CHUNKS] != self.chunks
                else _HINT if not 0 <= state[_HINT] < self.chunks
                else _BASE if not 0 <= state[_BASE] <= _ADDRESS_BITS else -1)
        if slot >= 0:
            raise _corrupted(state, _CORRUPT - slot)
        total = self._nwords << 5
        used = heads = 0
        prev_used = 0
        j = 0
        while j < total:
            u = self._bit(j)
            h = self._bit(total + j)
            if j >= self.chunks:
                if not (u and h):
                    raise RuntimeError("chunkalloc: padding bit %d cleared" % j)
            elif h and not u:
                raise RuntimeError("chunkalloc: chunk %d is a head but free" % j)
            elif u and not h and not prev_used:
                raise RuntimeError("chunkalloc: chunk %d is used but has no head" % j)
            elif u:
                used += 1
                heads += h
            prev_used = u
            j += 1
        if used != self.used or heads != self.allocations:
            raise RuntimeError("chunkalloc: counters say %d chunks in %d runs, bitmap %d in %d"
                               % (self.used, self.allocations, used, heads))


class LockedChunkAllocator:
    """A ChunkAllocator guarded for _thread threads and interrupt handlers.

    Each call disables interrupts (machine.disable_irq, where the port has it)
    and holds a _thread lock (where the port has threads); both are released
    before it returns or raises. Allocates nothing either."""

    def __init__(self, allocator):
        self.allocator = allocator
        try:
            import _thread
            self._lock = _thread.allocate_lock()
        except ImportError:
            self._lock = None
        try:
            import machine
            self._irq_off = machine.disable_irq  # pyright: ignore[reportAttributeAccessIssue]  # not on unix: caught below
            self._irq_on = machine.enable_irq  # pyright: ignore[reportAttributeAccessIssue]  # as above
        except (ImportError, AttributeError):
            self._irq_off = self._irq_on = None

    def _enter(self):
        state = self._irq_off() if self._irq_off else 0
        if self._lock:
            self._lock.acquire()
        return state

    def _exit(self, state):
        if self._lock:
            self._lock.release()
        if self._irq_on:
            self._irq_on(state)

    def _locked(self, fn, a, b=None, c=None, n=1):
        # fn is a plain function (ChunkAllocator.x): no bound method is made
        state = self._enter()
        try:
            if n == 0:
                return fn(self.allocator)
            if n == 1:
                return fn(self.allocator, a)
            if n == 2:
                return fn(self.allocator, a, b)
            return fn(self.allocator, a, b, c)
        finally:
            self._exit(state)

    @property
    def used(self):
        return self.allocator.used

    @property
    def allocations(self):
        return self.allocator.allocations

    @property
    def kernel(self):
        return self.allocator.kernel

    @property
    def fast(self):
        return self.allocator.fast

    def try_alloc(self, size, align=1):
        return self._locked(ChunkAllocator.try_alloc, size, align, n=2)

    def alloc(self, size, align=1):
        return self._locked(ChunkAllocator.alloc, size, align, n=2)

    def alloc_zeroed(self, size, align=1):
        return self._locked(ChunkAllocator.alloc_zeroed, size, align, n=2)

    def alloc_view(self, size, align=1):
        return self._locked(ChunkAllocator.alloc_view, size, align, n=2)

    def free(self, handle):
        return self._locked(ChunkAllocator.free, handle)

    def realloc(self, offset, new_size, align=1):
        return self._locked(ChunkAllocator.realloc, offset, new_size, align, n=3)

    def size_of(self, offset):
        return self._locked(ChunkAllocator.size_of, offset)

    def view(self, offset, size=None):
        return self._locked(ChunkAllocator.view, offset, size, n=2)

    def usage(self):
        return self.allocator.usage()

    def stats(self):
        return self._locked(ChunkAllocator.stats, None, n=0)

    def check(self):
        return self._locked(ChunkAllocator.check, None, n=0)
