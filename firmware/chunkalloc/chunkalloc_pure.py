# Bit kernels of chunkalloc in plain Python: the portable path.
#
# chunkalloc_viper.py holds the same functions, same arguments, same results,
# compiled to machine code. Both see the bitmap as bits numbered from 0, bit j
# in byte j >> 3 at position j & 7 (so on a little-endian machine also in
# 32-bit word j >> 5 at position j & 31). Used bits are bits 0 .. 32*nwords-1,
# head bits follow them. Nothing here allocates on MicroPython: ints stay small
# (bytes, not words) and loops are while loops.

import sys

# address_of(buf): the machine address of buf[0]. One def, the other branches bind the
# name to theirs (a def per branch reads to a type checker as one function redefined)
try:
    import uctypes

    def address_of(buf):
        return uctypes.addressof(buf)

except ImportError:
    try:
        import ctypes

        def _ctypes_address(buf):
            return ctypes.addressof(ctypes.c_char.from_buffer(buf))

        address_of = _ctypes_address
    except ImportError:
        def _no_address(buf):
            return 0  # unknown: alignment is then relative to the buffer start

        address_of = _no_address


# _BIT_AT[b % 11] is the index of the one bit in a byte b (1, 2, 4 .. 128 leave
# distinct remainders mod 11): 11 bytes, where a 256-entry table would take a
# micro:bit's heap
_BIT_AT = b"\x00\x00\x01\x00\x02\x04\x00\x07\x03\x06\x05"


def next_bit(bits, nwords, pos, value):
    """First used bit at index >= pos equal to value, or 32 * nwords."""
    total = nwords << 5
    if pos >= total:
        return total
    flip = 0 if value else 0xFF
    i = pos >> 3
    x = ((bits[i] ^ flip) >> (pos & 7)) << (pos & 7)
    end = nwords << 2
    while not x:
        i += 1
        if i >= end:
            return total
        x = bits[i] ^ flip
    return (i << 3) + _BIT_AT[(x & -x) % 11]


def run_end(bits, nwords, i):
    """First chunk after head chunk i that is free or another head."""
    total = nwords << 5
    j = i + 1
    head = nwords << 2
    while j < total:
        b = j >> 3
        x = (((bits[b] ^ 0xFF) | bits[head + b]) >> (j & 7)) << (j & 7)
        if x:
            return (b << 3) + _BIT_AT[(x & -x) % 11]
        j = (b + 1) << 3
    return total


def find(bits, nwords, k, first, step, hint, window, limit=-1):
    """Start of k free chunks at an index = first (mod step), or -1; every run
    found ends at chunk limit (default 32 * nwords), whatever the bits past it.

    Walks the gaps (runs of free chunks) from hint to the end, then from 0 to
    hint. The first gap that fits is remembered; the next window gaps that fit
    are compared with it and the smallest wins (best-fit). A gap of
    exactly k chunks ends the search at once. The scans of next_bit are
    written out: a call costs more than a scan, and a small board's stack
    holds few nested calls (the micro:bit's about seven).
    """
    total = nwords << 5 if limit < 0 else limit
    end = nwords << 2
    best = -1
    best_len = total + 1
    left = -1  # fitting gaps still to compare; -1 while nothing fits
    wrapped = False
    pos = hint
    while True:
        # s: the first free chunk at or after pos
        s = total
        if pos < total:
            i = pos >> 3
            x = ((bits[i] ^ 0xFF) >> (pos & 7)) << (pos & 7)
            while not x and i + 1 < end:
                i += 1
                x = bits[i] ^ 0xFF
            if x:
                s = min((i << 3) + _BIT_AT[(x & -x) % 11], total)
        if wrapped and s >= hint:
            break
        if s >= total:
            if wrapped:
                break
            wrapped = True
            pos = 0
            continue
        # e: the first used chunk after s
        i = s >> 3
        x = (bits[i] >> (s & 7)) << (s & 7)
        while not x and i + 1 < end:
            i += 1
            x = bits[i]
        e = min((i << 3) + _BIT_AT[(x & -x) % 11], total) if x else total
        c = s + ((first - s) & (step - 1))
        if c + k <= e:
            if e - s < best_len:
                best = c
                best_len = e - s
                if best_len == k:
                    return c
            if left < 0:  # the first fit: compare window more that fit
                left = window
            else:
                left -= 1
            if left == 0:
                return best
        pos = e
    return best


def fill(bits, start, n, value):
    """Set (value 1) or clear (value 0) n bits from bit start."""
    end = start + n
    while start < end:
        i = start >> 3
        lo = start & 7
        hi = min(8, lo + end - start)
        mask = ((1 << hi) - 1) ^ ((1 << lo) - 1)
        if value:
            bits[i] |= mask
        else:
            bits[i] &= mask ^ 0xFF
        start += hi - lo


def copy(heap, dst, src, n):
    """heap[dst:dst+n] = heap[src:src+n] for regions that do not overlap."""
    j = 0
    while j < n:
        heap[dst + j] = heap[src + j]
        j += 1


def zero(heap, start, n):
    end = start + n
    while start < end:
        heap[start] = 0
        start += 1


def offset_of(heap, view):
    """Byte offset of view's first byte from heap's first byte."""
    return address_of(view) - address_of(heap)


# -- CPython: the same kernels at C speed (chunkalloc_pure_host.py) -------------
# PORTABLE keeps the versions above so that tests can compare the two.

if sys.implementation.name != "micropython":
    PORTABLE = {"next_bit": next_bit, "run_end": run_end, "find": find, "fill": fill,
                "copy": copy, "zero": zero}
    from chunkalloc_pure_host import copy, fill, find, next_bit, run_end, zero


# -- whole operations, one call each --------------------------------------------
# state is the allocator's array of ints (see chunkalloc.py): one call does a
# whole try_alloc or free, because from Python each call and each attribute
# update costs more than the bitmap work itself.


def check_geometry(bits, state):
    """0 when the state's geometry can be trusted with bits, else -3 - the first
    bad slot (as the C kernels' ck_check_geometry: nwords, shift, chunks): what
    release reads. Every whole operation checks first: Python can write any int
    into the state."""
    nwords = state[0]
    if nwords < 1 or nwords > len(bits) >> 3 or nwords > 0x3FFFFFFF >> 5:
        return -3
    shift = state[1]
    if shift < 0 or shift > 30:
        return -4
    chunks = state[7]
    if chunks < 1 or chunks > nwords << 5 or chunks > 0x3FFFFFFF >> shift:
        return -10
    return 0


def check(bits, state):
    """check_geometry, and base and hint (what alloc and resize read too), as the
    C kernels' ck_check."""
    bad = check_geometry(bits, state)
    if bad:
        return bad
    if state[2] < 0 or state[2] > 0x3FFFFFFF:
        return -5
    if state[3] < 0 or state[3] >= state[7]:
        return -6
    return 0


def alloc(bits, state, size, align):
    """try_alloc: offset, -1 when no room, -2 when size or align is invalid,
    -3 - slot when the state is corrupted (see check)."""
    if size < 1 or align < 1 or align & (align - 1) or align > 0x3FFFFFFF:
        return -2
    bad = check(bits, state)
    if bad:
        return bad
    if size > 0x3FFFFFFF:
        return -1  # larger than any heap (and no big int is made)
    nwords = state[0]
    shift = state[1]
    base = state[2]
    chunks = state[7]
    cs = 1 << shift
    if base & (min(align, cs) - 1):
        return -1  # the heap itself is too badly aligned for this
    step = align >> shift if align > cs else 1
    k = (size + cs - 1) >> shift
    i = find(bits, nwords, k, ((-base) & (align - 1)) >> shift, step, state[3], state[4], chunks)
    if i < 0:
        return -1
    fill(bits, i, k, 1)
    fill(bits, (nwords << 5) + i, 1, 1)
    state[3] = i + k if i + k < chunks else 0
    state[5] += k
    state[6] += 1
    return i << shift


def release(bits, state, offset):
    """free: chunks freed, -1 when offset starts no live allocation, -3 - slot
    when the state is corrupted."""
    bad = check_geometry(bits, state)
    if bad:
        return bad
    i = _head(bits, state, offset)
    if i < 0:
        return -1
    nwords = state[0]
    k = min(run_end(bits, nwords, i), state[7]) - i
    fill(bits, i, k, 0)
    fill(bits, (nwords << 5) + i, 1, 0)
    state[5] -= k
    state[6] -= 1
    return k


def _head(bits, state, offset):
    """The head chunk of the live allocation at offset, or -1 (state checked)."""
    shift = state[1]
    i = offset >> shift
    if offset < 0 or offset & ((1 << shift) - 1) or i >= state[7]:
        return -1
    h = (state[0] << 5) + i
    if not (bits[h >> 3] >> (h & 7)) & 1:
        return -1
    return i


def resize(bits, state, offset, size, align):
    """realloc in place: offset when resized in place (shrunk, or grown into
    the free chunks after it), -1 when it must move (address not aligned, or
    no room after it), -2 when offset is no live allocation or size or align
    is invalid, -3 - slot when the state is corrupted."""
    if size < 1 or align < 1 or align & (align - 1) or align > 0x3FFFFFFF:
        return -2
    bad = check(bits, state)
    if bad:
        return bad
    i = _head(bits, state, offset)
    if i < 0:
        return -2
    if size > 0x3FFFFFFF or ((state[2] & (align - 1)) + offset) & (align - 1):
        return -1
    nwords = state[0]
    shift = state[1]
    chunks = state[7]
    k = (size + (1 << shift) - 1) >> shift
    old = min(run_end(bits, nwords, i), chunks) - i
    if k <= old:  # shrink: free the tail
        fill(bits, i + k, old - k, 0)
        state[5] -= old - k
        return offset
    if min(next_bit(bits, nwords, i + old, 1), chunks) >= i + k:  # grow into free chunks
        fill(bits, i + old, k - old, 1)
        state[5] += k - old
        return offset
    return -1
