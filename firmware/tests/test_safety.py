# Memory safety, case by case (issue 14): whatever Python does to the bitmap,
# the heap or the private state, no call reads or writes outside the buffers.
# Guard bytes around the heap and past the bitmap's rows must never change;
# a bad state slot is a RuntimeError naming it; misuse of the interface is a
# TypeError or ValueError with a message. Every kernel, every runtime.

from array import array

import chunkalloc
import chunkalloc_errors
import fwtest
from fwtest import (ON_MICROPYTHON, Skip, fill_pattern, has_pattern, heap_free, make,
                    needs_memoryview, raises, state)
from guarded import Guarded


def guarded(chunks, chunk_size):
    needs_memoryview()
    return Guarded(chunks, chunk_size, fwtest.KERNEL)


def inside(g, offset):
    assert 0 <= offset < len(g.heap), "offset %d outside a heap of %d bytes" % (
        offset, len(g.heap))
    assert offset + g.a.size_of(offset) <= len(g.heap)


# -- 1. the padding bits cleared: runs end at chunks all the same -----------------

def test_a_bitmap_reset_by_the_caller_never_yields_an_offset_past_the_heap():
    g = guarded(33, 64)
    a = g.a
    first = a.alloc(1)
    for _ in range(32):
        a.alloc(1)
    assert a.try_alloc(1) == -1
    g.bits[0:g.rows] = bytes(g.rows)  # the padding bits go too
    found = 0
    while True:
        off = a.try_alloc(1)
        if off < 0:
            break
        inside(g, off)
        found += 1
    assert found == 33  # the chunks, and not one past them
    try:
        inside(g, a.realloc(first, 128))
    except MemoryError:
        pass
    assert g.intact() is None, g.intact()


def test_two_allocators_on_one_bitmap_stay_inside_their_own_heaps():
    g = guarded(33, 64)
    other = chunkalloc.ChunkAllocator(bytearray(64 * 64), g.bits, 64, fwtest.KERNEL)
    assert other.chunks == 64  # same two-word rows: its construction cleared g's padding
    offsets = []
    while True:
        off = g.a.try_alloc(1)
        if off < 0:
            break
        inside(g, off)
        offsets.append(off)
    assert len(offsets) == 33
    g.a.free(offsets[1])
    try:
        inside(g, g.a.realloc(offsets[0], 128))
    except MemoryError:
        pass
    assert g.intact() is None, g.intact()


# -- 2. buffers resized under the allocator ----------------------------------------

def _resize(buf, grow):
    """Grow or shrink buf in place; Skip where this runtime refuses (CPython refuses
    to resize a buffer with live views: the same safety, earlier)."""
    try:
        if grow:
            buf.extend(bytes(256))
        else:
            buf[8:] = b""
    except chunkalloc._BufferError as e:
        if ON_MICROPYTHON:
            raise
        raise Skip("CPython refuses to resize a buffer with views: %s" % e)
    except NotImplementedError as e:
        raise Skip("this port cannot resize a bytearray in place: %s" % e)


def _decoy(n):
    """A block the size of a freed one, likely where it was, full of 0x5A."""
    return bytearray(b"\x5a" * n)


def test_a_bitmap_grown_under_the_allocator_is_followed_not_written_where_it_was():
    a = make(64, 16)
    live = [a.alloc(16) for _ in range(4)]
    fill_pattern(a, live[1], 16, 9)
    n = len(a._bits)
    _resize(a._bits, True)  # MicroPython moves the items and frees the old block
    decoy = _decoy(n)
    a.alloc(16)
    a.free(live[0])
    moved = a.realloc(live[1], 100)
    assert has_pattern(a, moved, 16, 9)
    assert decoy == _decoy(n)
    a.check()


def test_a_bitmap_shrunk_under_the_allocator_raises_naming_nwords():
    a = make(64, 16)
    off = a.alloc(16)
    _resize(a._bits, False)
    before = state(a)
    for call, args in ((a.alloc, (16,)), (a.try_alloc, (16,)), (a.free, (off,)),
                       (a.realloc, (off, 100))):
        assert "nwords" in raises(RuntimeError, call, *args)
        assert state(a) == before


def _bytearray_pool():
    heap = bytearray(64 * 16)
    a = chunkalloc.ChunkAllocator(heap, chunkalloc.heap_bitmap(64), 16, fwtest.KERNEL)
    x = a.alloc(16)
    fill_pattern(a, x, 16, 3)
    a.alloc(16)  # x cannot grow in place
    return heap, a, x


def test_a_heap_grown_under_the_allocator_keeps_realloc_inside_it():
    heap, a, x = _bytearray_pool()
    _resize(heap, True)
    decoy = _decoy(64 * 16)
    moved = a.realloc(x, 48)
    assert moved != x and has_pattern(a, moved, 16, 3)
    assert decoy == _decoy(64 * 16)
    a.check()


def test_a_heap_shrunk_under_the_allocator_makes_realloc_raise_not_write_past_it():
    heap, a, x = _bytearray_pool()
    _resize(heap, False)
    before = state(a)
    assert "resized" in raises(RuntimeError, a.realloc, x, 48)
    assert "resized" in raises(RuntimeError, a.alloc_zeroed, 16)
    assert state(a) == before


# -- 3. the private state tampered with ---------------------------------------------

BIG = 2 ** 31 - 1
SMALL = -2 ** 31
# slot: values no allocator of 64 chunks of 16 bytes (2-word rows) writes there
CORRUPT = (
    (fwtest.NWORDS, (0, -1, 3, 10, 40, BIG, SMALL)),
    (fwtest.SHIFT, (-1, 31, 40, BIG, SMALL)),
    (fwtest.CHUNKS, (0, -1, 65, 2 ** 29, BIG, SMALL)),
    (fwtest.BASE, (-1, 2 ** 30, SMALL)),
    (fwtest.HINT, (-1, -2, 64, BIG, SMALL)),
)
GEOMETRY = (fwtest.NWORDS, fwtest.SHIFT, fwtest.CHUNKS)


def _tampered(slot, value):
    """Each call on a pool whose state slot holds value: RuntimeError naming the
    slot, and the bitmap and every other slot as they were."""
    a = make(64, 16)
    live = a.alloc(40)
    a.alloc(16)
    saved = state(a)
    a._state[slot] = value
    name = chunkalloc_errors.SLOTS[slot]
    calls = [(a.alloc, (16,)), (a.try_alloc, (16,)), (a.realloc, (live, 200)),
             (a.realloc, (live, 16))]
    if slot in GEOMETRY:  # free reads only the geometry
        calls.append((a.free, (live,)))
    for call, args in calls:
        msg = raises(RuntimeError, call, *args)
        assert name in msg, (name, value, msg)
        assert bytes(a._bits) == saved[0]
    assert "corrupted" in raises(RuntimeError, a.check)
    a._state[slot] = saved[1][slot]
    assert state(a) == saved
    a.check()


def test_a_corrupted_nwords_raises_runtime_error_naming_it_and_touches_nothing():
    for value in CORRUPT[0][1]:
        _tampered(fwtest.NWORDS, value)


def test_a_corrupted_shift_raises_runtime_error_naming_it_and_touches_nothing():
    for value in CORRUPT[1][1]:
        _tampered(fwtest.SHIFT, value)


def test_a_corrupted_chunks_raises_runtime_error_naming_it_and_touches_nothing():
    for value in CORRUPT[2][1]:
        _tampered(fwtest.CHUNKS, value)


def test_a_corrupted_base_raises_runtime_error_naming_it_and_touches_nothing():
    for value in CORRUPT[3][1]:
        _tampered(fwtest.BASE, value)


def test_a_corrupted_hint_raises_runtime_error_naming_it_and_touches_nothing():
    for value in CORRUPT[4][1]:
        _tampered(fwtest.HINT, value)


def test_a_plausible_but_wrong_geometry_never_writes_outside_the_heap():
    # shift and chunks that the bitmap allows but the heap does not hold: alloc may
    # answer offsets past the heap (only the C op knows the heap), but no heap byte
    # is written there: realloc and alloc_zeroed raise, naming the slot
    g = guarded(33, 16)
    a = g.a
    live = a.alloc(16)
    a.alloc(16)
    for slot, value in ((fwtest.SHIFT, 7), (fwtest.CHUNKS, 64)):
        saved = a._state[slot]
        a._state[slot] = value
        g.bits[4:8] = bytes(4)  # the padding bits go too: chunks 32..63 look free
        for _ in range(40):
            try:
                a.try_alloc(16)
            except RuntimeError:
                pass
        name = chunkalloc_errors.SLOTS[slot]
        assert name in raises(RuntimeError, a.realloc, live, 500)
        assert name in raises(RuntimeError, a.alloc_zeroed, 16)
        a._state[slot] = saved
        assert g.intact() is None, g.intact()


# -- 4. the interface: one answer on every runtime and kernel -----------------------

def test_a_read_only_heap_is_refused_with_type_error():
    needs_memoryview()
    msg = raises(TypeError, chunkalloc.ChunkAllocator, bytes(256), bytearray(8), 64)
    assert "writable" in msg


def test_a_heap_of_non_byte_items_is_refused_at_construction():
    needs_memoryview()
    msg = raises(TypeError, chunkalloc.ChunkAllocator, array("i", [0] * 64), bytearray(8), 16)
    assert "bytes" in msg
    if not ON_MICROPYTHON:  # memoryview.cast: CPython only
        view = memoryview(bytearray(256)).cast("i")
        raises(TypeError, chunkalloc.ChunkAllocator, view, bytearray(8), 16)


def test_a_bitmap_of_any_sufficient_length_is_taken_and_its_tail_left_alone():
    for extra in (1, 3, 5, 9):
        bits = bytearray(b"\x77" * (8 + extra))
        a = chunkalloc.ChunkAllocator(bytearray(4 * 16), bits, 16, fwtest.KERNEL)
        offsets = [a.alloc(16) for _ in range(4)]
        assert sorted(offsets) == [0, 16, 32, 48]
        assert a.try_alloc(1) == -1
        for off in offsets:
            a.free(off)
        a.check()
        assert bits[8:] == b"\x77" * extra


def test_a_bitmap_of_2_pow_27_bytes_is_taken():
    if heap_free() is not None:
        raise Skip("needs a 128 MiB bitmap: CPython only")
    bits = bytearray(2 ** 27)
    a = chunkalloc.ChunkAllocator(bytearray(4 * 16), bits, 16, fwtest.KERNEL)
    a.free(a.alloc(64))
    a.check()


def test_free_refuses_the_heap_buffer_itself_and_any_buffer_but_a_view():
    heap = bytearray(64 * 16)
    a = chunkalloc.ChunkAllocator(heap, chunkalloc.heap_bitmap(64), 16, fwtest.KERNEL)
    a.alloc(16)
    before = state(a)
    for bad in (heap, bytearray(16), bytes(16), array("B", [0] * 16)):
        raises(TypeError, a.free, bad)
        assert state(a) == before


def test_a_strided_view_handle_is_refused_with_type_error():
    needs_memoryview()
    a = make(64, 16)
    off = a.alloc(64)
    try:
        strided = a.view(off)[::2]
    except (NotImplementedError, TypeError, ValueError) as e:
        raise Skip("this port makes no strided memoryview: %s" % e)
    before = state(a)
    assert "contiguous" in raises(TypeError, a.free, strided)
    assert state(a) == before
