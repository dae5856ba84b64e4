# "Allocates nothing" proven, not asserted: each hot-path call runs between
# micropython.heap_lock() and heap_unlock(), where any allocation on the GC
# heap raises MemoryError (MicroPython's tests/micropython/heapalloc*.py
# technique). Construction happens before the lock; so does every value the
# test compares against. On CPython these tests skip.

from fwtest import make, needs_heap_lock, needs_memoryview, heap_lock, heap_unlock
import chunkalloc
import chunkalloc_pure


def test_heap_lock_really_traps_allocation():
    needs_heap_lock()
    heap_lock()
    try:
        bytearray(16)
        trapped = False
    except MemoryError:
        trapped = True
    heap_unlock()
    assert trapped


def test_try_alloc_and_free_allocate_nothing():
    needs_heap_lock()
    a = make(64, 16)
    heap_lock()
    try:
        x = a.try_alloc(100)
        y = a.try_alloc(16, 64)
        a.free(x)
        z = a.try_alloc(1)
        a.free(y)
        a.free(z)
    finally:
        heap_unlock()
    assert a.used == 0 and x >= 0 and y >= 0 and z >= 0


def test_try_alloc_on_a_full_pool_returns_minus_one_without_allocating():
    needs_heap_lock()
    a = make(4, 16)
    heap_lock()
    try:
        x = a.try_alloc(64)
        y = a.try_alloc(1)
    finally:
        heap_unlock()
    assert x == 0 and y == -1


def test_alloc_allocates_nothing_when_it_succeeds():
    needs_heap_lock()
    a = make(64, 16)
    heap_lock()
    try:
        x = a.alloc(48, 32)
        y = a.alloc_zeroed(200)
    finally:
        heap_unlock()
    assert a.size_of(x) == 48 and a.size_of(y) == 208


def test_realloc_in_place_and_by_moving_allocates_nothing():
    needs_heap_lock()
    a = make(64, 16)
    x = a.alloc(32)
    a.heap[x] = 42
    heap_lock()
    try:
        x = a.realloc(x, 64)    # grow in place
        x = a.realloc(x, 16)    # shrink in place
        a.alloc(16)             # blocks growth
        x = a.realloc(x, 200)   # move and copy
    finally:
        heap_unlock()
    assert a.heap[x] == 42 and a.size_of(x) == 208


def test_size_of_check_and_counters_allocate_nothing():
    needs_heap_lock()
    a = make(100, 16)
    x = a.alloc(70)
    heap_lock()
    try:
        n = a.size_of(x)
        a.check()
        used = a.used
        live = a.allocations
    finally:
        heap_unlock()
    assert (n, used, live) == (80, 5, 1)


def addresses_are_big_ints(a):
    """Does taking the heap's address allocate (RAM above 2**30 on a 32-bit port)?"""
    heap_lock()
    try:
        chunkalloc_pure.address_of(a.heap)
        return False
    except MemoryError:
        return True
    finally:
        heap_unlock()


def test_free_by_view_allocates_nothing():
    needs_heap_lock()
    needs_memoryview()
    a = make(16, 16)
    if not (chunkalloc._kernel("c") or chunkalloc._kernel("viper")) and addresses_are_big_ints(a):
        # a pool takes a view's offset from native code where addresses are big
        # ints and the port has any; with none, only uctypes.addressof is left, and it makes a big int
        raise Skip("no native code on this port and RAM above 2**30: a view's address "
                   "is a big int; free(offset) allocates nothing here")
    v = a.alloc_view(40)
    heap_lock()
    try:
        a.free(v)
    finally:
        heap_unlock()
    assert a.used == 0


def test_the_locked_allocator_allocates_nothing():
    needs_heap_lock()
    pool = chunkalloc.LockedChunkAllocator(make(64, 16))
    heap_lock()
    try:
        x = pool.try_alloc(100)
        x = pool.realloc(x, 300)
        n = pool.size_of(x)
        pool.free(x)
        used = pool.used
    finally:
        heap_unlock()
    assert (n, used) == (304, 0)
