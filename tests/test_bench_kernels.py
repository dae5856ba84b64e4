"""The CPython kernels of chunkalloc_pure.py (re scans, slice fills) give exactly the
results of the portable kernels MicroPython runs, on any bitmap (hypothesis).

The portable kernels are compared with the viper ones by the firmware model tests; this
closes the triangle for the CPython speed-up, which those tests cannot see apart from
the portable code.
"""

from __future__ import annotations

import chunkalloc_pure as kernels
from hypothesis import given, settings
from hypothesis import strategies as st

PORTABLE = kernels.PORTABLE


@st.composite
def bitmaps(draw) -> tuple[bytearray, int]:
    """A bitmap of nwords words whose bytes are mostly 0x00 and 0xFF, as real ones are."""
    nwords = draw(st.integers(1, 6))
    byte = st.one_of(st.just(0), st.just(0xFF), st.integers(0, 255))
    return bytearray(draw(st.lists(byte, min_size=nwords << 3, max_size=nwords << 3))), nwords


@given(bitmaps(), st.integers(0, 200), st.integers(0, 1))
def test_next_bit_matches_the_portable_kernel(bm, pos, value):
    bits, nwords = bm
    assert kernels.next_bit(bits, nwords, pos, value) == PORTABLE["next_bit"](bits, nwords, pos, value)


@given(bitmaps(), st.integers(0, 200))
def test_run_end_matches_the_portable_kernel(bm, i):
    bits, nwords = bm
    i %= nwords << 5
    assert kernels.run_end(bits, nwords, i) == PORTABLE["run_end"](bits, nwords, i)


@given(bitmaps(), st.integers(0, 200), st.integers(0, 120), st.integers(0, 1))
def test_fill_matches_the_portable_kernel(bm, start, n, value):
    bits, nwords = bm
    start %= nwords << 6
    n = min(n, (nwords << 6) - start)
    mine, theirs = bytearray(bits), bytearray(bits)
    kernels.fill(mine, start, n, value)
    PORTABLE["fill"](theirs, start, n, value)
    assert mine == theirs


@given(st.binary(min_size=64, max_size=64), st.integers(0, 8), st.integers(32, 40),
       st.integers(0, 24))
def test_copy_and_zero_match_the_portable_kernels(data, src, dst, n):
    for heap_of in (bytearray, lambda b: memoryview(bytearray(b))):
        mine, theirs = heap_of(data), heap_of(data)
        kernels.copy(mine, dst, src, n)
        PORTABLE["copy"](theirs, dst, src, n)
        kernels.zero(mine, src, n // 2)
        PORTABLE["zero"](theirs, src, n // 2)
        assert bytes(mine) == bytes(theirs)


@settings(max_examples=300)
@given(bitmaps(), st.integers(1, 40), st.integers(0, 7), st.sampled_from([1, 2, 4, 8]),
       st.integers(0, 200), st.integers(0, 8))
def test_find_matches_the_portable_kernel(bm, k, first, step, hint, window):
    bits, nwords = bm
    hint %= nwords << 5
    saved = kernels.next_bit
    kernels.next_bit = PORTABLE["next_bit"]  # the portable find looks next_bit up at call time
    try:
        portable = PORTABLE["find"](bits, nwords, k, first, step, hint, window)
    finally:
        kernels.next_bit = saved
    assert kernels.find(bits, nwords, k, first, step, hint, window) == portable
