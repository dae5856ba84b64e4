# Bad input gets the right exception with a message, and loses nothing: the
# bitmap, counters, hint and the contents of live allocations are as before.

import chunkalloc
from fwtest import make, raises, state, fill_pattern, has_pattern, needs_memoryview


def busy_allocator():
    """An allocator with three live, patterned allocations."""
    a = make(64, 16)
    live = []
    for n, align in ((40, 1), (100, 16), (16, 1)):  # placed the same on any heap base
        off = a.alloc(n, align)
        fill_pattern(a, off, n, off)
        live.append((off, n))
    a.free(a.alloc(16))  # leaves a hole and a moved hint
    return a, live


def rejects(exc_type, method, *args):
    """method(*args) on a busy allocator raises exc_type and changes nothing."""
    a, live = busy_allocator()
    before = state(a)
    msg = raises(exc_type, getattr(a, method), *args)
    assert state(a) == before, "%s%r changed the allocator" % (method, args)
    for off, n in live:
        assert has_pattern(a, off, n, off)
    a.check()
    return msg


def test_constructor_rejects_a_chunk_size_that_is_not_a_power_of_two():
    for cs in (0, 3, 24, -8):
        raises(ValueError, chunkalloc.ChunkAllocator, bytearray(96), bytearray(8), cs)


def test_constructor_rejects_a_heap_that_is_not_a_multiple_of_chunk_size():
    raises(ValueError, chunkalloc.ChunkAllocator, bytearray(100), bytearray(8), 16)
    raises(ValueError, chunkalloc.ChunkAllocator, bytearray(0), bytearray(8), 16)


def test_constructor_rejects_a_bitmap_too_small():
    msg = raises(ValueError, chunkalloc.ChunkAllocator, bytearray(33 * 16), bytearray(8), 16)
    assert "16" in msg


def test_constructor_rejects_wrong_types():
    raises(TypeError, chunkalloc.ChunkAllocator, bytearray(64), bytearray(8), "16")
    raises(TypeError, chunkalloc.ChunkAllocator, bytearray(64), bytes(8), 16)


def test_heap_and_heap_bitmap_reject_bad_sizes():
    raises(ValueError, chunkalloc.heap, 4, 24)
    raises(ValueError, chunkalloc.heap, 0, 16)
    raises(ValueError, chunkalloc.heap_bitmap, 0)
    raises(TypeError, chunkalloc.heap_bitmap, 2.5)


def test_alloc_rejects_sizes_below_one():
    for method in ("alloc", "try_alloc", "alloc_zeroed"):
        rejects(ValueError, method, 0)
        rejects(ValueError, method, -5)


def test_alloc_rejects_a_size_that_is_not_an_int():
    rejects(TypeError, "alloc", 1.5)
    rejects(TypeError, "try_alloc", "16")
    rejects(TypeError, "alloc", None)


def test_alloc_rejects_an_alignment_that_is_not_a_power_of_two():
    for align in (0, 3, 12, -4):
        rejects(ValueError, "alloc", 16, align)
        rejects(ValueError, "try_alloc", 16, align)
    rejects(TypeError, "alloc", 16, 2.0)


def test_free_rejects_a_double_free():
    a, live = busy_allocator()
    off = live[0][0]
    a.free(off)
    before = state(a)
    raises(ValueError, a.free, off)
    assert state(a) == before


def test_free_rejects_offsets_that_do_not_start_a_live_allocation():
    a, live = busy_allocator()
    head = live[1][0]
    for bad in (head + 1, head + 16, -16, 64 * 16, 10 ** 6, 48 * 16):
        rejects(ValueError, "free", bad)


def test_free_rejects_a_handle_of_the_wrong_type():
    for bad in (None, 1.0, "0", [0]):
        rejects(TypeError, "free", bad)


def test_free_rejects_foreign_and_interior_views():
    needs_memoryview()
    a, live = busy_allocator()
    other = make(8, 16)
    foreign = other.alloc_view(16)
    interior = a.view(live[1][0])[16:32]
    for bad in (foreign, interior, memoryview(bytearray(16))):
        before = state(a)
        raises(ValueError, a.free, bad)
        assert state(a) == before


def test_realloc_rejects_bad_input_and_keeps_the_allocation():
    a, live = busy_allocator()
    off = live[0][0]
    rejects(ValueError, "realloc", off, 0)
    rejects(ValueError, "realloc", off + 1, 32)
    rejects(ValueError, "realloc", off, 32, 5)
    rejects(TypeError, "realloc", off, "32")
    rejects(TypeError, "realloc", None, 32)
    rejects(ValueError, "realloc", 63 * 16, 32)  # never allocated


def test_size_of_and_view_reject_what_is_not_live():
    rejects(ValueError, "size_of", 63 * 16)
    rejects(TypeError, "size_of", "0")
    needs_memoryview()
    a, live = busy_allocator()
    rejects(ValueError, "view", 63 * 16)
    rejects(ValueError, "view", live[0][0], 1000)
    rejects(ValueError, "view", live[0][0], -1)


def test_memory_error_on_no_room_changes_nothing():
    msg = rejects(MemoryError, "alloc", 10 ** 6)
    assert "no room" in msg
    rejects(MemoryError, "realloc", 0, 10 ** 6)
    assert busy_allocator()[0].try_alloc(10 ** 6) == -1
