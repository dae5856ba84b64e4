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

import sys

try:
    from micropython import const  # folded by the compiler: no global, no lookup
except ImportError:  # CPython: a plain int
    const = int

# RAM is spent on what a program uses: `import chunkalloc` loads this module
# alone; a pool loads its kernel when it is made (the pure one only when it is
# that kernel, or for what only it can do), and chunkalloc_setup, the code
# that makes it, for that call only (so do heap(), heap_bitmap() and the first
# read of KERNELS); the members no hot path needs (views, stats ...) load
# chunkalloc_extras, LockedChunkAllocator chunkalloc_locked, and a refusal
# chunkalloc_errors (its message), on first use.


def _load(name, once=False):
    # import name; a failed import (a locked or full heap, a .mpy this port
    # cannot load) leaves no half-made module in sys.modules to be found later.
    # once: a module for one call (making a pool), forgotten at once, so that
    # its RAM returns to the GC heap when the call is over, unless the program
    # imported it itself (to keep it: a board's tests make many pools, and a
    # mounted file system reads it anew for each)
    kept = name in sys.modules
    if not kept:
        # MemoryError here where the heap is locked (heap_lock(), a hard IRQ),
        # not halfway through reading the module: over `mpremote mount` that
        # left the host's file protocol mid-call
        bytearray(1)
    try:
        module = __import__(name)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    if once and not kept:
        sys.modules.pop(name)
    return module


# The kernels, best first. An import fails as ImportError where the module is
# not there (CPython has no .mpy loader), SyntaxError where the port has no
# native emitter, TypeError for viper code the port's compiler rejects
# (ViperTypeError), and ValueError for a .mpy the firmware cannot load ("native
# code in .mpy unsupported", "incompatible .mpy arch"), and MemoryError where
# the heap cannot hold the module's code: the next one serves.
_NAMES = ("c", "viper", "pure")  # c: a dynamic native module (firmware/c/)
_kernels = {}  # name: its module once loaded, None where it cannot load


def _kernel(name):
    if name not in _kernels:
        try:
            _kernels[name] = _load("chunkalloc_" + name)
        except (ImportError, SyntaxError, TypeError, ValueError, OSError, MemoryError):
            _kernels[name] = None
    return _kernels[name]


def __getattr__(name):
    # KERNELS and LockedChunkAllocator, made on first read (a module's
    # __getattr__: MicroPython since 1.12, CPython since 3.7)
    return _load("chunkalloc_setup", True).attribute(name)


def _errors():
    # the exceptions for bad input, with their messages, loaded on the first
    # refusal. Where the heap is locked (heap_lock(), a hard IRQ) the module
    # cannot load: the refusal is a MemoryError, as it was when a message was
    # formatted here; the messages a hot path can meet unformatted stay here.
    return _load("chunkalloc_errors")


try:
    from uctypes import addressof as address_of  # a builtin: no code to load
except ImportError:  # CPython (ctypes), or a port without uctypes
    address_of = (_kernel("c") or _kernel("pure")).address_of

try:
    _memoryview = memoryview
except NameError:  # MicroPython builds without memoryview (micro:bit 1.9)
    _memoryview = None

_ADDRESS_BITS = const(0x3FFFFFFF)  # addresses kept mod 2**30: a small int on every port

# ChunkAllocator._state, an array('i') shared with the kernels' alloc/release
_NWORDS = const(0)  # 32-bit words in each row of the bitmap
_SHIFT = const(1)  # log2(chunk_size)
_BASE = const(2)  # the heap's address mod 2**30
_HINT = const(3)  # where the next search starts
_WINDOW = const(4)  # fitting gaps compared with the first fit (0: best-fit off)
_USED = const(5)  # chunks in use
_ALLOCATIONS = const(6)  # live allocations
_CHUNKS = const(7)
_BASE_HI = const(8)  # the heap's address >> 30: the C kernels free a view by its address
_REFUSED = (TypeError, OverflowError, MemoryError)  # a kernel refusing an argument
# A kernel's answer CORRUPT - slot: that slot of _state holds what no allocator
# writes (chunkalloc_errors.SLOTS names them)
_CORRUPT = const(-3)
del const  # the names above are folded where they are used: no global kept for it

try:
    _BufferError = BufferError
except NameError:  # MicroPython has none: its buffer errors are TypeError
    _BufferError = TypeError

# Each check below is a test here and, only when it fails, an exception with a
# message from chunkalloc_errors.


def heap(chunks, chunk_size):
    """A writable buffer of chunks * chunk_size bytes starting at an address
    aligned to chunk_size (where the port can tell addresses)."""
    return _load("chunkalloc_setup", True).heap(chunks, chunk_size)


def heap_bitmap(chunks):
    """A zeroed bytearray for the bookkeeping of chunks chunks: 2 bits each,
    rounded up to whole 32-bit words."""
    return _load("chunkalloc_setup", True).heap_bitmap(chunks)


def _check_size_align(size, align):
    if not isinstance(size, int):
        raise TypeError("size must be an int")
    if size >= 1:
        if not isinstance(align, int):
            raise TypeError("align must be an int")
        if align >= 1 and not align & (align - 1) and align <= _ADDRESS_BITS:
            return
    raise _errors().size_align(size, align)


class ChunkAllocator:
    """Allocates runs of chunks from heap, bookkeeping in bitmap."""

    def __init__(self, heap, bitmap, chunk_size, fast=True, best_fit=True):
        # checks heap and bitmap, picks the kernel and sets the attributes below
        # (chunkalloc_setup: code a pool needs once, let go again)
        _load("chunkalloc_setup", True).init(self, heap, bitmap, chunk_size, fast, best_fit)

    def __getattr__(self, name):
        # the members no hot path needs (fast, best_fit, address, view,
        # alloc_view, usage, chunk_kind, gaps, stats) are chunkalloc_extras's:
        # the first use of one loads it and puts that member on the class
        if name[0] == "_":
            raise AttributeError(name)
        setattr(ChunkAllocator, name, getattr(_load("chunkalloc_extras"), name))
        return getattr(self, name)

    @property
    def used(self):
        """Chunks in use."""
        return self._state[_USED]

    @property
    def allocations(self):
        """Live allocations."""
        return self._state[_ALLOCATIONS]

    def offset_of(self, handle):
        """The heap offset a handle (an int offset or a memoryview) stands for."""
        if isinstance(handle, int):
            return handle
        if _memoryview is not None and isinstance(handle, _memoryview):
            try:
                return self._offset_of(self.heap, handle)
            except (_BufferError, TypeError):  # CPython: a view with strides
                raise TypeError("handle must be an int offset or a contiguous memoryview")
        raise TypeError("handle must be an int offset or a memoryview")

    def _head(self, handle):
        """Chunk index of the live allocation handle (offset or memoryview)."""
        offset = self.offset_of(handle)
        i = offset // self.chunk_size
        if (offset < 0 or offset % self.chunk_size or i >= self.chunks
                or not (self._bits[((self._nwords << 5) + i) >> 3] >> (i & 7)) & 1):
            raise _errors().not_live(offset)
        return i

    # -- the interface ---------------------------------------------------------

    # The hot path: one kernel call per operation, given only ints that a
    # machine word holds whole (viper truncates a big int to its low bits: on a
    # 32-bit port free(2**40) freed offset 0); the bounds are literals, so no
    # name is looked up. The kernel checks its arguments itself and answers -2 when they are bad; viper raises instead
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
                raise _errors().corrupted(self._state, offset)
        except _REFUSED:  # not ints, or no machine word
            pass
        _check_size_align(size, align)
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
            raise _errors().corrupted(self._state, offset)
        if offset == -2:
            _check_size_align(size, align)
        raise _errors().no_room(size, align)

    def alloc_zeroed(self, size, align=1):
        """Offset of a new allocation of size bytes, all of it zeroed."""
        self._check_heap()
        offset = self.alloc(size, align)
        self._kernel.zero(self.heap, offset, self.size_of(offset))
        return offset

    def _check_heap(self):
        # RuntimeError unless the heap still holds all chunks (Python can shrink a
        # bytearray under the allocator) and the state's geometry is the
        # allocator's: checked before Python code writes heap bytes at offsets
        # from the kernels
        state = self._state
        if (state[_SHIFT] != self._shift or state[_CHUNKS] != self.chunks
                or len(self.heap) < self.chunks * self.chunk_size):
            raise _errors().heap_changed(self)

    def free(self, handle):
        """Free the allocation at handle (an offset, or a view from alloc_view/view)."""
        try:
            freed = (self._release(self._bits, self._state, handle)
                     if -0x3FFFFFFF <= handle <= 0x3FFFFFFF else -1)  # a view: TypeError
            if freed > 0:
                return
            if freed <= _CORRUPT:
                raise _errors().corrupted(self._state, freed)
        except _REFUSED:  # a memoryview (viper, pure), no handle at all
            pass
        i = self._head(handle)  # raises for anything but a live view
        freed = self._release(self._bits, self._state, i * self.chunk_size)
        if freed <= _CORRUPT:
            raise _errors().corrupted(self._state, freed)

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
            raise _errors().corrupted(state, new)
        if new == -2:  # a view, or bad arguments: check, then try in place again
            offset = self._head(offset) * self.chunk_size
            _check_size_align(new_size, align)
            new = self._resize(self._bits, state, offset, new_size, align) \
                if new_size <= _ADDRESS_BITS else -1
            if new >= 0:
                return new
            if new <= _CORRUPT:
                raise _errors().corrupted(state, new)
        # it must move: size and align are valid, offset is live
        self._check_heap()
        k = (new_size + self.chunk_size - 1) // self.chunk_size
        old = self._run(offset // self.chunk_size)
        new = self._alloc(self._bits, state, new_size, align) if new_size <= _ADDRESS_BITS else -1
        if new <= _CORRUPT:
            raise _errors().corrupted(state, new)
        if new < 0:
            raise _errors().no_room(new_size, align, "to move")
        self._kernel.copy(self.heap, new, offset, min(k, old) * self.chunk_size)
        self._release(self._bits, state, offset)
        return new

    def size_of(self, offset):
        """Capacity in bytes of the allocation at offset (whole chunks)."""
        return self._run(self._head(offset)) * self.chunk_size

    def _run(self, i):
        end = self._kernel.run_end(self._bits, self._nwords, i)
        return (end if end < self.chunks else self.chunks) - i  # padding bits cleared: still

    def check(self):
        """Raise RuntimeError if the bookkeeping is inconsistent; else None."""
        state = self._state  # first the geometry: what the kernels index by
        if (state[_NWORDS] != self._nwords or state[_SHIFT] != self._shift
                or state[_CHUNKS] != self.chunks or not 0 <= state[_HINT] < self.chunks
                or not 0 <= state[_BASE] <= _ADDRESS_BITS):
            raise _errors().corrupted_geometry(self)
        total = self._nwords << 5
        used = heads = prev = 0
        j = 0
        bits = self._bits
        while j < total:  # (total + j) & 7 == j & 7: total is a multiple of 32
            u = (bits[j >> 3] >> (j & 7)) & 1
            h = (bits[(total + j) >> 3] >> (j & 7)) & 1
            if j >= self.chunks:  # padding: used and head
                if not (u and h):
                    raise _errors().inconsistent(self, j)
            elif h > u or u > h + prev:  # a head that is free; a run with no head
                raise _errors().inconsistent(self, j)
            else:
                used += u
                heads += h
            prev = u
            j += 1
        if used != self.used or heads != self.allocations:
            raise _errors().inconsistent(self, total, used, heads)
