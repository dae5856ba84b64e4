# The trace recorder: answers like the pool it wraps, logs every alloc, free
# and realloc (op, size, align, result) into its ring, drops the oldest when
# full, allocates nothing while recording, and dumps the documented format.

import chunkalloc_trace
from chunkalloc_trace import Recorder, ALLOC, FREE, REALLOC
from fwtest import make, raises, needs_heap_lock, needs_memoryview, heap_lock, heap_unlock


def records(rec):
    """The ring's records, oldest first, as tuples."""
    out = []
    n = max(0, rec.count - rec.capacity)
    while n < rec.count:
        i = (n % rec.capacity) * 5
        out.append(tuple(rec.records[i:i + 5]))
        n += 1
    return out


def dump_lines(rec):
    lines = []
    chunkalloc_trace.dump(rec, lines.append)
    return lines


def test_recorder_answers_exactly_as_the_pool_it_wraps():
    plain = make(64, 16)
    rec = Recorder(make(64, 16), 32)
    for p in (plain, rec):
        x = p.alloc(40)
        y = p.try_alloc(16, 16)
        z = p.alloc_zeroed(20)
        x = p.realloc(x, 100)
        p.free(y)
        assert p.try_alloc(2000) == -1
    assert rec.allocator.stats() == plain.stats()
    assert (rec.used, rec.allocations, rec.usage()) == (plain.used, plain.allocations, plain.usage())
    assert rec.size_of(x) == plain.size_of(x) and rec.size_of(z) == plain.size_of(z)
    rec.check()


def test_each_alloc_free_and_realloc_is_logged_with_size_align_and_result():
    rec = Recorder(make(64, 16), 16)
    x = rec.alloc(40, 4)
    y = rec.realloc(x, 200, 4)
    assert rec.try_alloc(5000, 8) == -1
    rec.free(y)
    assert records(rec) == [(ALLOC, -1, 40, 4, x), (REALLOC, x, 200, 4, y),
                            (ALLOC, -1, 5000, 8, -1), (FREE, y, 0, 0, 0)]


def test_failed_alloc_and_realloc_are_logged_as_minus_one_and_still_raise():
    rec = Recorder(make(8, 16), 8)
    x = rec.alloc(16)
    raises(MemoryError, rec.alloc, 1000)
    raises(MemoryError, rec.alloc_zeroed, 1000)
    raises(MemoryError, rec.realloc, x, 1000)
    assert records(rec)[1:] == [(ALLOC, -1, 1000, 1, -1), (ALLOC, -1, 1000, 1, -1),
                                (REALLOC, x, 1000, 1, -1)]
    assert rec.size_of(x) == 16


def test_bad_input_raises_and_logs_nothing():
    rec = Recorder(make(8, 16), 8)
    raises(ValueError, rec.alloc, 0)
    raises(ValueError, rec.free, 5)
    raises(TypeError, rec.try_alloc, "16")
    assert rec.count == 0
    raises(ValueError, Recorder, make(8, 16), 0)


def test_free_through_a_view_logs_the_views_offset():
    needs_memoryview()
    rec = Recorder(make(16, 16), 8)
    rec.alloc(16)
    v = rec.alloc_view(20)
    rec.free(v)
    assert records(rec)[-1] == (FREE, 16, 0, 0, 0)


def test_a_full_ring_keeps_the_newest_records_and_counts_the_dropped():
    rec = Recorder(make(64, 16), 4)
    for size in range(1, 7):
        rec.alloc(size * 16)
    assert rec.count == 6
    assert [r[2] for r in records(rec)] == [48, 64, 80, 96]
    lines = dump_lines(rec)
    assert lines[2] == "dropped 2"
    assert lines[-1] == "end 4"


def test_dump_prints_the_documented_trace_format():
    a = make(64, 16)
    rec = Recorder(a, 8)
    x = rec.alloc(40, 4)
    y = rec.realloc(x, 100, 4)
    rec.free(y)
    rec.try_alloc(5000)
    assert dump_lines(rec) == [
        "chunkalloc-trace 1",
        "pool chunks=64 chunk_size=16 base=%d" % (a.address(0) % 65536),
        "dropped 0",
        "a 40 4 %d" % x,
        "r %d 100 4 %d" % (x, y),
        "f %d" % y,
        "a 5000 1 -1",
        "end 4",
    ]


def test_recording_allocates_nothing():
    needs_heap_lock()
    rec = Recorder(make(64, 16), 8)
    heap_lock()
    try:
        x = rec.try_alloc(40, 4)
        y = rec.try_alloc(16, 64)
        x = rec.realloc(x, 60, 4)
        rec.free(x)
        rec.free(y)
        for _ in range(10):  # round the ring
            rec.free(rec.alloc(16))
        failed = rec.try_alloc(5000)
    finally:
        heap_unlock()
    assert failed == -1 and rec.count == 26 and rec.used == 0
