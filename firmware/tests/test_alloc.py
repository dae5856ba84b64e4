# The allocator's guarantees on good input: sizes, alignment, free without a
# size, realloc in place and by moving, counters, and the search policy.

import chunkalloc
from fwtest import make, raises, fill_pattern, has_pattern, ON_MICROPYTHON

import fwtest


def kinds(a):
    return "".join(".h="[a.chunk_kind(i)] for i in range(a.chunks))


def test_heap_starts_at_an_address_aligned_to_chunk_size():
    for cs in (8, 64, 256, 1024):
        h = chunkalloc.heap(4, cs)
        assert len(h) == 4 * cs
        a = chunkalloc.ChunkAllocator(h, chunkalloc.heap_bitmap(4), cs)
        assert a.address(0) % cs == 0 or a.address(0) == 0


def test_heap_bitmap_is_two_bits_per_chunk_rounded_to_words():
    assert len(chunkalloc.heap_bitmap(1)) == 8
    assert len(chunkalloc.heap_bitmap(32)) == 8
    assert len(chunkalloc.heap_bitmap(33)) == 16
    assert len(chunkalloc.heap_bitmap(4096)) == 4096 * 2 // 8


def test_the_kernel_asked_for_is_the_kernel_used():
    a = make()
    assert a.kernel == fwtest.KERNEL and a.fast == (fwtest.KERNEL != "pure")
    assert chunkalloc.KERNELS[-1] == "pure" and fwtest.KERNEL in chunkalloc.KERNELS
    assert "viper" not in chunkalloc.KERNELS or ON_MICROPYTHON


def test_fast_true_takes_the_best_kernel_and_false_the_pure_one():
    h = chunkalloc.heap(32, 16)
    bits = chunkalloc.heap_bitmap(32)
    assert chunkalloc.ChunkAllocator(h, bits, 16, True).kernel == chunkalloc.KERNELS[0]
    assert chunkalloc.ChunkAllocator(h, bits, 16, False).kernel == "pure"
    for name in ("c", "viper", "pure"):
        if name in chunkalloc.KERNELS:
            assert chunkalloc.ChunkAllocator(h, bits, 16, name).kernel == name
        else:
            raises(ValueError, chunkalloc.ChunkAllocator, h, bits, 16, name)
    raises(ValueError, chunkalloc.ChunkAllocator, h, bits, 16, "turbo")


def test_alloc_hands_out_whole_chunks():
    a = make(64, 16)
    x = a.alloc(1)
    y = a.alloc(16)
    z = a.alloc(17)
    assert (a.size_of(x), a.size_of(y), a.size_of(z)) == (16, 16, 32)
    assert x % 16 == y % 16 == z % 16 == 0
    assert a.used == 4 and a.allocations == 3
    assert kinds(a)[:4] == "hhh="


def test_address_is_aligned_for_every_power_of_two_alignment():
    a = make(256, 16)
    for align in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512):
        off = a.alloc(20, align)
        assert a.address(off) % align == 0, (align, off)
    a.check()


def test_free_needs_no_size_and_frees_the_whole_run():
    a = make(64, 16)
    x = a.alloc(100)  # 7 chunks
    a.free(x)
    assert a.used == 0 and a.allocations == 0
    assert kinds(a) == "." * 64
    a.check()


def test_try_alloc_returns_minus_one_when_there_is_no_room():
    a = make(8, 16)
    assert a.try_alloc(8 * 16) == 0
    assert a.try_alloc(1) == -1
    a.free(0)
    assert a.try_alloc(9 * 16) == -1
    assert a.used == 0


def test_alloc_raises_memory_error_with_a_message_when_full():
    a = make(8, 16)
    a.alloc(100)
    before = fwtest.state(a)
    msg = raises(MemoryError, a.alloc, 100)
    assert "100" in msg
    assert fwtest.state(a) == before


def test_alloc_succeeds_whenever_an_aligned_gap_exists():
    a = make(32, 16)
    offs = [a.alloc(16) for _ in range(32)]
    for i in (3, 10, 11, 20, 21, 22):
        a.free(offs[i])
    # only [20, 23) holds 3 chunks; runs never wrap round the end
    assert a.alloc(48) == 20 * 16
    assert a.try_alloc(48) == -1


def test_runs_never_wrap_round_the_end():
    a = make(8, 16)
    offs = [a.alloc(16) for _ in range(8)]
    a.free(offs[0])
    a.free(offs[7])
    assert a.try_alloc(32) == -1


def test_alloc_zeroed_zeroes_the_whole_capacity():
    a = make(4, 16)  # one place only: the zeroed run lands on the dirty one
    x = a.alloc(64)
    fill_pattern(a, x, 64, 9)
    a.free(x)
    y = a.alloc_zeroed(40)
    assert y == x
    for j in range(a.size_of(y)):
        assert a.heap[y + j] == 0


def test_realloc_shrinks_in_place_and_frees_the_tail():
    a = make(16, 16)
    x = a.alloc(160)
    fill_pattern(a, x, 40, 3)
    assert a.realloc(x, 40) == x
    assert a.size_of(x) == 48
    assert a.used == 3
    assert has_pattern(a, x, 40, 3)
    assert list(a.gaps()) == [(x // 16 + 3, 13)]  # the tail is free again
    a.check()


def test_realloc_grows_in_place_into_following_free_chunks():
    a = make(16, 16)
    x = a.alloc(32)
    y = a.alloc(32)
    a.free(y)
    fill_pattern(a, x, 32, 5)
    assert a.realloc(x, 100) == x
    assert a.size_of(x) == 112
    assert has_pattern(a, x, 32, 5)
    a.check()


def test_realloc_moves_and_keeps_the_data_when_blocked():
    a = make(16, 16)
    x = a.alloc(32)
    a.alloc(16)  # blocks growth in place
    fill_pattern(a, x, 32, 7)
    z = a.realloc(x, 64)
    assert z != x
    assert has_pattern(a, z, 32, 7)
    assert a.size_of(z) == 64
    assert a.used == 5 and a.allocations == 2
    raises(ValueError, a.size_of, x)  # the old run is gone
    a.check()


def test_realloc_to_a_stricter_alignment_moves_to_an_aligned_address():
    a = make(64, 16)
    a.alloc(16)
    x = a.alloc(16)  # at chunk 1 unless the heap itself is oddly placed
    fill_pattern(a, x, 16, 1)
    z = a.realloc(x, 16, 256)
    assert a.address(z) % 256 == 0
    assert has_pattern(a, z, 16, 1)
    a.check()


def test_realloc_failure_leaves_the_allocation_intact():
    a = make(8, 16)
    x = a.alloc(64)
    a.alloc(16)
    fill_pattern(a, x, 64, 11)
    before = fwtest.state(a)
    raises(MemoryError, a.realloc, x, 8 * 16)
    assert fwtest.state(a) == before
    assert has_pattern(a, x, 64, 11)


def test_usage_and_stats_count_chunks():
    a = make(64, 16)
    a.alloc(160)
    a.alloc(16)
    assert a.usage() == 11 * 100.0 / 64
    s = a.stats()
    assert s["used"] == 11 and s["free"] == 53 and s["allocations"] == 2
    assert s["largest_free"] == 53 and s["free_runs"] == 1
    assert s["fragmentation"] == 0.0
    assert s["chunks"] == 64 and s["chunk_size"] == 16


def test_fragmentation_is_umm_mallocs_metric():
    a = make(8, 16)
    offs = [a.alloc(16) for _ in range(8)]
    a.free(offs[0])  # free runs of 1 and 3 chunks
    for i in (4, 5, 6):
        a.free(offs[i])
    s = a.stats()
    assert s["free_runs"] == 2 and s["largest_free"] == 3
    expect = 100.0 - 100.0 * (1 + 9) ** 0.5 / 4
    assert fwtest.close(s["fragmentation"], expect), (s["fragmentation"], expect)


def test_gaps_lists_every_free_run():
    a = make(40, 16)
    offs = [a.alloc(16) for _ in range(40)]
    for i in (0, 1, 5, 33, 39):
        a.free(offs[i])
    assert list(a.gaps()) == [(0, 2), (5, 1), (33, 1), (39, 1)]


def test_next_fit_goes_on_after_the_last_allocation():
    a = make(64, 16, best_fit=False)
    x = a.alloc(16)
    y = a.alloc(16)
    assert y == x + 16
    a.free(a.alloc(16))  # free leaves the hint after the freed run ...
    z = a.alloc(16)      # ... so the search goes on from there
    assert z == y + 32


def test_best_fit_takes_the_smallest_gap_that_fits():
    a = make(64, 16, best_fit=True)
    offs = [a.alloc(16) for _ in range(64)]
    for i in range(4, 10):  # a 6-chunk gap first ...
        a.free(offs[i])
    for i in (20, 21):      # ... then a 2-chunk gap
        a.free(offs[i])
    a._state[fwtest.HINT] = 0  # search from the start
    assert a.alloc(32) == 20 * 16
    a.check()


def test_best_fit_looks_past_gaps_too_small_to_fit():
    a = make(64, 16, best_fit=True)
    offs = [a.alloc(16) for _ in range(64)]
    for i in range(4, 10):       # a 6-chunk gap first,
        a.free(offs[i])
    for i in range(12, 32, 2):   # ten 1-chunk gaps that cannot hold 2 chunks,
        a.free(offs[i])
    for i in (40, 41):           # then an exact fit
        a.free(offs[i])
    a._state[fwtest.HINT] = 0
    assert a.alloc(32) == 40 * 16


def test_best_fit_off_takes_the_first_gap_that_fits():
    a = make(64, 16, best_fit=False)
    offs = [a.alloc(16) for _ in range(64)]
    for i in range(4, 10):
        a.free(offs[i])
    for i in (20, 21):
        a.free(offs[i])
    a._state[fwtest.HINT] = 0  # search from the start
    assert a.alloc(32) == 4 * 16


def test_chunk_counts_not_a_multiple_of_32_never_hand_out_padding():
    for n in (1, 5, 31, 33, 63):
        a = make(n, 8)
        got = 0
        while a.try_alloc(8) >= 0:
            got += 1
        assert got == n
        assert a.try_alloc(1) == -1
        a.check()


def test_chunk_size_one_works():
    a = make(40, 1)
    x = a.alloc(3)
    y = a.alloc(1, 8)
    assert a.address(y) % 8 == 0
    assert a.size_of(x) == 3
    a.check()


def test_check_finds_a_corrupted_bitmap():
    a = make(64, 16)
    x = a.alloc(64)
    a._bits[(x >> 4) >> 3] ^= 1 << ((x >> 4) & 7)  # clear the head's used bit
    raises(RuntimeError, a.check)
    a._bits[(x >> 4) >> 3] ^= 1 << ((x >> 4) & 7)
    a.check()
    a._state[fwtest.USED] += 1  # a counter out of step with the bitmap
    raises(RuntimeError, a.check)


def test_a_new_allocator_resets_a_used_bitmap():
    h = chunkalloc.heap(64, 16)
    bits = chunkalloc.heap_bitmap(64)
    a = chunkalloc.ChunkAllocator(h, bits, 16, fwtest.KERNEL)
    a.alloc(300)
    b = chunkalloc.ChunkAllocator(h, bits, 16, fwtest.KERNEL)
    assert b.used == 0 and b.stats()["largest_free"] == 64
    b.check()


def test_the_static_pool_pattern_needs_no_init_call():
    free = fwtest.heap_free()
    try:
        import chunkpool  # its size is the board's (chunkalloc build --board): no scaling
    except MemoryError as e:
        raise fwtest.Skip("chunkpool's pool does not fit: %s; the board has %s bytes free"
                          % (e, free))
    off = chunkpool.POOL.alloc(10)
    chunkpool.POOL.free(off)
    chunkpool.POOL.check()


def test_keyword_arguments_reach_the_same_methods():
    a = make(64, 16)
    x = a.alloc(100, align=32)
    y = a.try_alloc(size=20)
    x = a.realloc(x, new_size=300, align=32)
    assert a.address(x) % 32 == 0 and a.size_of(x) == 304 and a.size_of(y) == 32
    a.free(handle=y)
    a.free(x)
    assert a.used == 0
    a.check()
