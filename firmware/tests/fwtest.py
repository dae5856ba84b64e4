# Support for the firmware tests: the same helpers on CPython (under pytest)
# and on MicroPython (under runtests.py). Test modules are plain functions
# named test_*: each name states the guarantee it checks.

import gc

import chunkalloc
import chunkalloc_setup  # kept loaded: the tests make many pools (see chunkalloc._load)
from xorshift import Rng  # the tests take it from here

KERNEL = chunkalloc.KERNELS[0]  # runtests.py sets it: "c", "viper" or "pure"
# slots of ChunkAllocator._state (chunkalloc._NWORDS ...: compile-time constants
# there, so no names at run time on MicroPython)
NWORDS = 0
SHIFT = 1
BASE = 2
HINT = 3
USED = 5
CHUNKS = 7

# What the board cannot do although its firmware has the module (an emulated chip's
# limits): {module: why}, written by the host beside the tests (boards/*.json:
# connect.limits); none on a real board.
try:
    from boardlimits import LIMITS, REDUCE
except ImportError:
    LIMITS = {}
    REDUCE = None  # or (factor, why): long random tests take 1/factor of their steps


def steps(n, kernel_too=False):
    """n steps of a long random test, fewer on a board that asks for it
    (boardlimits.REDUCE) when the pure kernel runs them (kernel_too: whatever
    the kernel): said on the output, as the runner prints it."""
    if REDUCE is None or (KERNEL != "pure" and not kernel_too):
        return n
    fewer = max(1, n // REDUCE[0])
    print("  (%d of %d steps: %s)" % (fewer, n, REDUCE[1]))
    return fewer

try:
    from pytest import skip as _skip

    Skip = _skip.Exception
except ImportError:
    class Skip(Exception):
        pass

try:
    from micropython import heap_lock, heap_unlock

    ON_MICROPYTHON = True
except ImportError:  # CPython: nothing to lock; the same calls run unlocked
    ON_MICROPYTHON = False

    def heap_lock():
        pass

    def heap_unlock():
        pass


def heap_free():
    """Bytes free on the GC heap after a collection; None where nothing
    limits a pool (CPython has no gc.mem_free)."""
    if not hasattr(gc, "mem_free"):
        return None
    gc.collect()
    return gc.mem_free()


def pool_bytes(chunks, chunk_size):
    """What heap(chunks, chunk_size) and heap_bitmap(chunks) take from the GC
    heap: the chunks, up to chunk_size - 1 bytes to align them, the bitmap."""
    return chunks * chunk_size + chunk_size - 1 + ((chunks + 31) >> 5 << 3)


def fit(chunks, chunk_size, least=None):
    """The number of chunks a test's pool of chunk_size bytes gets on this
    board: fitting(heap_free(), ...), then fewer (halving, down to least)
    while the heap has no block that large: its free room may be in pieces.
    CPython: always chunks."""
    if least is None:
        least = chunks
    free = heap_free()
    n = fitting(free, chunks, chunk_size, least)
    while free is not None and not allocatable(pool_bytes(n, chunk_size)):
        if n == least:
            raise Skip("needs %d bytes of heap in one block, the board has %d free in smaller ones"
                       % (pool_bytes(n, chunk_size), free))
        n //= 2
        n -= (n - chunks) % 32
        n = max(n, least)
    return n


def allocatable(nbytes):
    """Whether the GC heap has a free block of nbytes (tried, and dropped again)."""
    try:
        bytearray(nbytes)
    except MemoryError:
        return False
    return True


def fitting(free, chunks, chunk_size, least=None):
    """chunks where the pool takes at most half of free bytes (the rest is the
    test's own working room, and slack for a heap whose largest free block is
    smaller than its total), else the most that do with the same remainder mod
    32 (a partly used last bitmap word stays partly used), but never fewer
    than least (default chunks: a test that needs that size). Raises
    Skip("needs N bytes of heap, the board has M free") when least does not
    fit. free None: no limit."""
    if least is None:
        least = chunks
    if free is None:
        return chunks
    room = free // 2
    if pool_bytes(chunks, chunk_size) <= room:
        return chunks
    n = (room - chunk_size + 1) * 4 // (4 * chunk_size + 1)  # the bitmap: 1/4 byte a chunk
    n -= (n - chunks) % 32
    while n > least and pool_bytes(n, chunk_size) > room:
        n -= 32
    if n >= least:
        return n
    if pool_bytes(least, chunk_size) <= room:
        return least
    raise Skip("needs %d bytes of heap, the board has %d free"
               % (2 * pool_bytes(least, chunk_size), free))


def buffers(chunks, chunk_size):
    """(heap(chunks, chunk_size), heap_bitmap(chunks)); Skip where the board
    has not the room for exactly that pool (see fit)."""
    fit(chunks, chunk_size)
    try:
        return chunkalloc.heap(chunks, chunk_size), chunkalloc.heap_bitmap(chunks)
    except MemoryError as e:  # fit() said there was room: the free heap is in pieces
        raise Skip("needs %d bytes of heap in one block, the board has %d free in smaller ones (%s)"
                   % (pool_bytes(chunks, chunk_size), heap_free(), e))


def make(chunks=64, chunk_size=16, best_fit=True):
    """A pool of exactly chunks chunks on the current path; Skip where the
    board has not the room (see fit). Scale with make(fit(n, cs, least), cs)."""
    h, bits = buffers(chunks, chunk_size)
    return chunkalloc.ChunkAllocator(h, bits, chunk_size, KERNEL, best_fit)


# How close two floats must be: 1e-9 where floats are doubles (CPython, the unix
# port), 1e-4 on a board with 32-bit floats, where the expected value may also
# come folded in double by the host's mpy-cross. Tested at run time: a constant
# expression here would be folded too.
_TINY = float("1e-12")
FLOAT_TOLERANCE = 1e-9 if 1.0 + _TINY != 1.0 else 1e-4


def close(x, y):
    """x and y are the same float to this runtime's precision (FLOAT_TOLERANCE)."""
    return abs(x - y) < FLOAT_TOLERANCE


def raises(exc_type, fn, *args):
    """Call fn(*args); assert it raises exc_type with a message; return the message."""
    try:
        fn(*args)
    except exc_type as e:
        msg = str(e)
        assert msg, "%s raised without a message" % exc_type.__name__
        return msg
    assert False, "%s not raised" % exc_type.__name__


def needs_memoryview():
    if chunkalloc._memoryview is None:
        raise Skip("this port has no memoryview")


def needs_heap_lock():
    if not ON_MICROPYTHON:
        raise Skip("micropython.heap_lock() exists only on MicroPython")


def state(a):
    """Everything observable about an allocator's bookkeeping."""
    return (bytes(a._bits), tuple(a._state))


def fill_pattern(a, offset, size, seed):
    for j in range(size):
        a.heap[offset + j] = (seed + j * 7) & 0xFF


def has_pattern(a, offset, size, seed):
    for j in range(size):
        if a.heap[offset + j] != (seed + j * 7) & 0xFF:
            return False
    return True
