# The heap map: one character per chunk, 64 to a line, folded free lines, and
# the fragmentation metrics beside it; walking the pool allocates nothing.

import chunkalloc_map
from fwtest import make, needs_heap_lock, heap_lock, heap_unlock, close


def pool_with_a_gap():
    """40 chunks of 16 B: runs of 2 and 1 chunks, a 2-chunk gap, a run of 3."""
    a = make(40, 16)
    a.alloc(32)
    a.alloc(16)
    gap = a.alloc(32)
    a.alloc(48)
    a.free(gap)
    return a


def map_lines(pool):
    lines = []
    chunkalloc_map.show(pool, lines.append)
    return lines


def test_map_draws_free_head_and_tail_chunks_64_to_a_line():
    a = pool_with_a_gap()
    lines = map_lines(a)
    assert lines[0] == "chunkalloc-map chunks=40 chunk_size=16 used=6 allocations=3"
    assert lines[1] == "00000: h=h..h==" + "." * 32
    assert lines[2] == "free=34 free_runs=2 largest_free=32 fragmentation=%.1f" % (
        100 - 100 * (2 * 2 + 32 * 32) ** 0.5 / 34)
    assert lines[-1] == "end-map"


def test_map_folds_two_or_more_all_free_lines():
    a = make(64 * 5, 16)
    a.alloc(16)
    last = a.alloc(16 * 64 * 3)  # chunks 1..192
    a.alloc(16)  # chunk 193
    a.free(last)
    lines = map_lines(a)
    assert lines[1] == "00000: h" + "." * 63
    assert lines[2] == "       (2 lines all free)"
    assert lines[3] == "00c00: .h" + "." * 62
    assert lines[4] == "01000: " + "." * 64
    assert len(lines) == 7


def test_map_of_a_single_free_line_is_not_folded():
    a = make(64 * 2, 16)
    a.alloc(16 * 65)
    lines = map_lines(a)
    assert lines[1:3] == ["00000: h" + "=" * 63, "00400: =" + "." * 63]


def test_metrics_are_the_largest_free_run_the_run_count_and_umm_fragmentation():
    a = pool_with_a_gap()
    out = [0, 0, 0, 0]
    chunkalloc_map.measure(a, out)
    assert out == [34, 2, 32, 2 * 2 + 32 * 32]
    s = a.stats()
    assert (s["free"], s["free_runs"], s["largest_free"]) == (34, 2, 32)
    frag = chunkalloc_map.fragmentation(out[0], out[3])
    assert close(frag, s["fragmentation"])
    assert close(frag, 100 - 100 * (4 + 1024) ** 0.5 / 34), frag


def test_fragmentation_is_zero_for_one_free_run_and_for_a_full_pool():
    a = make(64, 16)
    assert chunkalloc_map.fragmentation(64, 64 * 64) == 0.0
    a.alloc(64 * 16)
    out = [9, 9, 9, 9]
    chunkalloc_map.measure(a, out)
    assert out == [0, 0, 0, 0]
    assert chunkalloc_map.fragmentation(0, 0) == 0.0
    assert map_lines(a)[-2] == "free=0 free_runs=0 largest_free=0 fragmentation=0.0"


def test_map_of_a_wrapped_pool_is_the_map_of_the_pool_inside():
    import chunkalloc
    a = make(40, 16)
    a.alloc(100)
    assert map_lines(chunkalloc.LockedChunkAllocator(a)) == map_lines(a)


def test_walking_the_map_and_measuring_allocate_nothing():
    needs_heap_lock()
    a = make(200, 16)
    a.alloc(40)
    a.alloc(500)
    buf = bytearray(chunkalloc_map.LINE)
    out = [0, 0, 0, 0]
    heap_lock()
    try:
        n0 = chunkalloc_map.row(a, 0, buf)
        n3 = chunkalloc_map.row(a, 192, buf)
        chunkalloc_map.measure(a, out)
    finally:
        heap_unlock()
    assert n0 == 64 and n3 == -1
    assert out[:3] == [200 - 3 - 32, 1, 165]
