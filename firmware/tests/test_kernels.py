# The kernel under test (fwtest.KERNEL: C or viper) gives the pure kernels'
# results, bit for bit, on random bitmaps of every texture (runs of free chunks
# short and long, crossing word boundaries or not): the scans, find and fill
# alone, and the whole operations alloc, release and resize on the same bitmap
# and state. On the pure kernel they skip: it is the reference.

from array import array

import chunkalloc
import chunkalloc_pure as pure
import fwtest
from fwtest import Rng, Skip


def natives():
    if fwtest.KERNEL == "pure":
        raise Skip("the pure kernels are the reference the others are checked against")
    return [chunkalloc._kernel(fwtest.KERNEL)]


def random_bitmap(rng, nwords):
    bits = bytearray(nwords << 3)
    texture = rng.below(4)
    for i in range(len(bits)):
        if texture == 0:
            bits[i] = rng.below(256)
        elif texture == 1:
            bits[i] = (0, 0xFF, rng.below(256))[rng.below(3)]
        else:  # sparse or dense used chunks: long and short gaps
            v = 0
            for j in range(8):
                if rng.below(10) < texture * 3:
                    v |= 1 << j
            bits[i] = v
    return bits


def test_native_find_agrees_with_pure_find():
    for v in natives():
        rng = Rng(7)
        for _ in range(fwtest.steps(3000, True)):
            nwords = 1 + rng.below(6)
            bits = random_bitmap(rng, nwords)
            k = 1 + rng.below(40)
            step = 1 << rng.below(4)
            first = rng.below(step)
            hint = rng.below(nwords << 5)
            window = rng.choice((0, 1, 8))
            args = (bits, nwords, k, first, step, hint, window)
            assert v.find(*args) == pure.find(*args), (v, args)


def test_native_scans_agree_with_pure_scans():
    for v in natives():
        rng = Rng(11)
        for _ in range(fwtest.steps(2000, True)):
            nwords = 1 + rng.below(4)
            bits = random_bitmap(rng, nwords)
            pos = rng.below((nwords << 5) + 2)
            value = rng.below(2)
            assert v.next_bit(bits, nwords, pos, value) == pure.next_bit(bits, nwords, pos, value)
            i = rng.below(nwords << 5)
            assert v.run_end(bits, nwords, i) == pure.run_end(bits, nwords, i)


def test_native_fill_agrees_with_pure_fill():
    for v in natives():
        rng = Rng(13)
        for _ in range(fwtest.steps(2000, True)):
            nwords = 1 + rng.below(4)
            bits = random_bitmap(rng, nwords)
            start = rng.below(nwords << 6)
            n = rng.below((nwords << 6) - start + 1)
            value = rng.below(2)
            mine = bytearray(bits)
            theirs = bytearray(bits)
            v.fill(mine, start, n, value)
            pure.fill(theirs, start, n, value)
            assert mine == theirs, (v, start, n, value)


def random_state(rng, nwords):
    """A state array for a random bitmap: any hint, base and counters."""
    chunks = (nwords << 5) - rng.below(32)
    shift = rng.below(7)
    base = rng.below(1 << 12) << rng.below(6)
    return array("i", [nwords, shift, base & 0x3FFFFFFF, rng.below(chunks),
                       rng.choice((0, 1, 8)), rng.below(1000), rng.below(100), chunks, 0])


def test_native_operations_agree_with_pure_operations():
    for v in natives():
        rng = Rng(17)
        for _ in range(fwtest.steps(3000, True)):
            nwords = 1 + rng.below(5)
            bits = random_bitmap(rng, nwords)
            for j in range(nwords << 5, nwords << 6):  # heads only on used chunks
                if not (bits[(j - (nwords << 5)) >> 3] >> (j & 7)) & 1:
                    bits[j >> 3] &= 0xFF ^ (1 << (j & 7))
            state = random_state(rng, nwords)
            cs = 1 << state[1]
            op = rng.below(3)
            size = rng.choice((0, 1 + rng.below(cs * 40), -3))
            align = rng.choice((1, 2, 4, 8, 16, 64, 256, 3, 0))
            offset = rng.below(state[7] + 2) * cs + rng.choice((0, 0, 0, 1))
            mine, theirs = bytearray(bits), bytearray(bits)
            ms, ts = array("i", state), array("i", state)
            if op == 0:
                r = (v.alloc(mine, ms, size, align), pure.alloc(theirs, ts, size, align))
            elif op == 1:
                r = (v.release(mine, ms, offset), pure.release(theirs, ts, offset))
            else:
                r = (v.resize(mine, ms, offset, size, align),
                     pure.resize(theirs, ts, offset, size, align))
            assert r[0] == r[1] and mine == theirs and ms == ts, (v, op, size, align, offset, r)


class _Broken:
    """A kernel whose alloc answers one chunk off, as misplaced native code might."""


def test_a_native_kernel_is_trusted_only_once_it_gets_a_known_case_right():
    import sys

    import chunkalloc_setup

    [native] = natives()
    assert chunkalloc_setup.trusted(fwtest.KERNEL) is native
    broken = _Broken()
    for name in ("fill", "release", "resize", "run_end"):
        setattr(broken, name, getattr(pure, name))
    broken.alloc = lambda bits, state, size, align: pure.alloc(bits, state, size, align) + 16
    module = "chunkalloc_" + fwtest.KERNEL
    chunkalloc._kernels[fwtest.KERNEL] = broken
    try:
        assert chunkalloc_setup.trusted(fwtest.KERNEL) is None
        assert chunkalloc._kernels[fwtest.KERNEL] is None and module not in sys.modules
    finally:
        chunkalloc._kernels[fwtest.KERNEL] = native
        sys.modules[module] = native
