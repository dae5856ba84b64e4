# Support for the firmware tests: the same helpers on CPython (under pytest)
# and on MicroPython (under runtests.py). Test modules are plain functions
# named test_*: each name states the guarantee it checks.

import chunkalloc
from xorshift import Rng  # the tests take it from here

KERNEL = chunkalloc.KERNELS[0]  # runtests.py sets it: "c", "viper" or "pure"

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


def make(chunks=64, chunk_size=16, best_fit=True):
    return chunkalloc.ChunkAllocator(chunkalloc.heap(chunks, chunk_size),
                                     chunkalloc.heap_bitmap(chunks), chunk_size,
                                     KERNEL, best_fit)


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
