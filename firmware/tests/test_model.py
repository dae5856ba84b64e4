# Model-based random tests with a fixed seed (the same sequence on every
# runtime): 10,000 operations over several chunk sizes and alignments up to
# 128, each checked against a plain model of what is live. The hypothesis
# version of this test runs on CPython (tests/test_model_hypothesis.py).

import gc
from array import array

import chunkalloc
import fwtest
from fwtest import make, Rng, fill_pattern, has_pattern

CONFIGS = (  # chunks, chunk_size, best_fit, operations
    (64, 8, True, 2000),
    (100, 16, False, 2000),
    (256, 64, True, 2500),
    (61, 256, True, 1500),
    (333, 32, False, 2000),
)


def board_chunks(chunks, cs):
    """The pool's chunk count on this board: as asked where it fits (CPython,
    the unix port), else fewer with the same chunk size and the same count mod
    32, down to one whole bitmap word and the partial one (fwtest.fit)."""
    return fwtest.fit(chunks, cs, min(chunks, 32 + chunks % 32))


def aligned_run_exists(a, k, align):
    """The oracle: is there any run of k free chunks at an aligned address?"""
    base = a.address(0)
    for s, n in a.gaps():
        c = s
        while c + k <= s + n:
            if (base + c * a.chunk_size) % align == 0:
                return True
            c += 1
    return False


def step(a, rng, live):
    """One random operation on a, checked against the model live
    (offset -> (requested size, pattern seed)). Returns what it did."""
    cs = a.chunk_size
    r = rng.below(100)
    keys = sorted(live)
    if r < 45 or not keys:
        size = 1 + rng.below(cs * 6)
        align = 1 << rng.below(8)
        off = a.try_alloc(size, align)
        if off < 0:
            assert not aligned_run_exists(a, (size + cs - 1) // cs, align)
            return ("alloc", size, align, -1)
        assert a.address(off) % align == 0
        end = off + a.size_of(off)
        for o in keys:
            assert end <= o or o + a.size_of(o) <= off, "overlap"
        fill_pattern(a, off, size, off + size)
        live[off] = (size, off + size)
        return ("alloc", size, align, off)
    off = keys[rng.below(len(keys))]
    size, seed = live[off]
    assert has_pattern(a, off, size, seed), "contents changed"
    if r < 75:
        a.free(off)
        del live[off]
        return ("free", off)
    new_size = 1 + rng.below(cs * 6)
    align = 1 << rng.below(8)
    try:
        new = a.realloc(off, new_size, align)
    except MemoryError:
        assert has_pattern(a, off, size, seed)
        assert not aligned_run_exists(a, (new_size + cs - 1) // cs, align)
        return ("realloc", off, new_size, align, -1)
    assert a.address(new) % align == 0
    keep = min(size, new_size)
    assert has_pattern(a, new, keep, seed), "realloc lost data"
    del live[off]
    fill_pattern(a, new, new_size, new + new_size)
    live[new] = (new_size, new + new_size)
    return ("realloc", off, new_size, align, new)


def check_model(a, live):
    cs = a.chunk_size
    assert a.allocations == len(live)
    assert a.used == sum(a.size_of(o) for o in live) // cs
    for o in live:
        assert a.size_of(o) == (live[o][0] + cs - 1) // cs * cs
    assert a.usage() == a.used * 100.0 / a.chunks


def run_model(chunks, cs, best_fit, ops, seed):
    """ops random operations on a fresh pool, checked against the model. One
    pool at a time: what a run keeps live (its pool, the model) is garbage
    before the next run's pool is taken from the board's heap."""
    a = make(chunks, cs, best_fit)
    rng = Rng(seed)
    live = {}
    for n in range(ops):
        step(a, rng, live)
        check_model(a, live)
        if n % 50 == 0:
            a.check()
    a.check()


def test_random_operations_match_the_model():
    total = 0
    for chunks, cs, best_fit, ops in CONFIGS:
        run_model(board_chunks(chunks, cs), cs, best_fit, fwtest.steps(ops, True), chunks * 1000 + cs)
        total += ops
    assert total >= 10000


def test_every_kernel_makes_identical_decisions():
    # the pure kernel's run is the reference; every other kernel replays the same
    # operations on the same heap (so the same addresses) and is compared step by
    # step. Each step's result (an offset, or -1) decides the rest of the run (the
    # next operation is drawn from what is live), so the reference keeps only
    # those, in one array: a board's fragmented heap affords that
    # one heap for every config, taken first (aligned to 256, the largest chunk
    # size): a board's heap, fragmented by the runs, need not find room again
    whole = chunkalloc.heap(max(c * cs for c, cs, _, _ in CONFIGS) // 256 + 1, 256)
    for chunks, cs, best_fit, ops in CONFIGS:
        h = whole[:chunks * cs]
        bits = chunkalloc.heap_bitmap(chunks)
        n = fwtest.steps(ops // 4, True)
        reference = array("i", bytes(4 * n))
        final = None
        for kernel in ("pure",) + tuple(k for k in chunkalloc.KERNELS if k != "pure"):
            a = chunkalloc.ChunkAllocator(h, bits, cs, kernel, best_fit)
            rng = Rng(cs)
            live = {}
            for j in range(n):
                got = step(a, rng, live)
                if final is None:
                    reference[j] = got[-1]
                else:
                    assert got[-1] == reference[j], "%s step %d: %r, pure %d" % (
                        kernel, j, got, reference[j])
            if final is None:
                final = (bytes(bits), tuple(a._state))
            else:
                assert (bytes(bits), tuple(a._state)) == final, kernel
            a = live = None
        h = bits = None  # before the next config's heap: a board holds one at a time
        gc.collect()
