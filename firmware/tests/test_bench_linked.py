# The benchmark's linked-list contender (bench_linked.py) and its request
# streams (bench_workloads.py): a contender that miscounted or overlapped
# would make every ratio of the benchmark meaningless, so they are tested
# like the allocator itself. The kernels' path (fast/pure) does not matter here.

import bench_linked
import bench_workloads
from fwtest import Rng, heap_lock, heap_unlock, needs_heap_lock


def _holes(a):
    """[(offset, size)] of the free list, in list order."""
    found = []
    h = a.head
    while h >= 0:
        found.append((h, a.mem[h >> 2]))
        h = a.mem[(h >> 2) + 1]
    return found


def _check(a, live):
    """Blocks and holes tile the heap exactly; holes sorted and never adjacent."""
    spans = [(h, h + n, "hole") for h, n in _holes(a)]
    for user in live:
        spans.append((user - 8, a.mem[(user - 8) >> 2], "block"))
    spans.sort()
    pos = 0
    last = None
    for start, end, kind in spans:
        assert start == pos, "gap or overlap at %d" % pos
        assert end > start
        assert not (kind == "hole" and last == "hole"), "adjacent holes not merged"
        pos = end
        last = kind
    assert pos == a.nbytes


def test_linked_list_allocations_are_aligned_and_disjoint_and_free_merges_back():
    a = bench_linked.LinkedListAllocator(8192)
    rng = Rng(7)
    live = []
    for step in range(600):
        if live and rng.below(3) == 0:
            a.free(live.pop(rng.below(len(live))))
        else:
            align = 1 << rng.below(6)
            user = a.try_alloc(1 + rng.below(300), align)
            if user >= 0:
                assert (a.base + user) % align == 0
                live.append(user)
        _check(a, live)
    for user in live:
        a.free(user)
    assert _holes(a) == [(0, 8192)]


def test_linked_list_try_alloc_returns_minus_one_when_full():
    a = bench_linked.LinkedListAllocator(256)
    assert a.try_alloc(248) == 8
    assert a.try_alloc(1) == -1


def test_linked_list_realloc_keeps_the_data_in_place_or_moved():
    a = bench_linked.LinkedListAllocator(4096)
    x = a.try_alloc(64)
    blocker = a.try_alloc(16)
    for j in range(16):
        a.mem[(x >> 2) + j] = j * 3
    assert a.realloc(x, 40) == x  # shrink in place
    moved = a.realloc(x, 400)  # the blocker is in the way: move
    assert moved != x
    assert [a.mem[(moved >> 2) + j] for j in range(10)] == [j * 3 for j in range(10)]
    a.free(blocker)
    assert a.realloc(moved, 800) == moved  # grow into the hole after it
    _check(a, [moved])


def test_linked_list_realloc_without_room_raises_and_keeps_the_block():
    a = bench_linked.LinkedListAllocator(512)
    x = a.try_alloc(100)
    y = a.try_alloc(300)
    try:
        a.realloc(x, 400)
        raised = False
    except MemoryError:
        raised = True
    assert raised
    _check(a, [x, y])


def test_linked_list_hot_path_allocates_nothing():
    needs_heap_lock()
    a = bench_linked.LinkedListAllocator(4096)
    heap_lock()
    try:
        x = a.try_alloc(100, 16)
        y = a.try_alloc(50)
        x = a.realloc(x, 300)
        a.free(y)
        a.free(x)
    finally:
        heap_unlock()
    assert _holes(a) == [(0, 4096)]


def test_streams_are_the_same_on_every_runtime():
    s = bench_workloads.mcu_stream(200, 1, 4096 * 64)
    total = 0
    for i in range(200):
        total = (total * 31 + s.sizes[i] * 7 + s.aligns[i] * 3 + s.drops[i]) & 0xFFFFFF
    assert s.cap == 4096 * 64 * 3 // 4
    assert total == MCU_CHECKSUM, total
    r = bench_workloads.Resizes(100, 1, 8)
    for i in range(100):
        assert 16 <= r.sizes[i] <= 2047 and r.which[i] < 8


MCU_CHECKSUM = 10520834  # what CPython draws; MicroPython must draw the same
