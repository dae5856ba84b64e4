# The pure kernel's scans, fill and copy at C speed, for CPython only (host
# simulation and trace replay run the pure path there, where a loop over bytes
# costs ~50 ns a byte): the scans hand the skipping of whole bytes to re (a
# run of 0x00 or 0xFF bytes), fill and copy use slice assignment. Same
# arguments, same results as the portable versions in chunkalloc_pure.py,
# which take these names there on CPython. A separate module, so that a board
# never loads this bytecode (MicroPython keeps the portable versions: they
# allocate nothing).

import re

from chunkalloc_pure import _BIT_AT

_LOWEST_BIT = bytes(_BIT_AT[(v & -v) % 11] for v in range(256))  # by byte: faster here
# by the value sought: the bytes that hold no such bit (re runs a repeated
# literal as a tight C loop: ~0.6 ns a byte)
_SKIP = (re.compile(b"\xff*"), re.compile(b"\x00*"))


def next_bit(bits, nwords, pos, value):
    """First used bit at index >= pos equal to value, or 32 * nwords."""
    total = nwords << 5
    if pos >= total:
        return total
    value = 1 if value else 0
    flip = 0 if value else 0xFF
    i = pos >> 3
    x = ((bits[i] ^ flip) >> (pos & 7)) << (pos & 7)
    if not x:
        i = _SKIP[value].match(bits, i + 1, nwords << 2).end()  # pyright: ignore[reportOptionalMemberAccess]  # matches "": never None
        if i >= nwords << 2:
            return total
        x = bits[i] ^ flip
    return (i << 3) + _LOWEST_BIT[x]

def run_end(bits, nwords, i):
    """First chunk after head chunk i that is free or another head."""
    total = nwords << 5
    j = i + 1
    if j >= total:
        return total
    head = nwords << 2
    b = j >> 3
    x = (((bits[b] ^ 0xFF) | bits[head + b]) >> (j & 7)) << (j & 7)
    if not x and b + 1 < head:  # most runs end in the next byte
        b += 1
        x = (bits[b] ^ 0xFF) | bits[head + b]
    if not x:
        # the first byte with a free chunk, then the first head before it
        start = b + 1
        b = _SKIP[0].match(bits, start, head).end()  # pyright: ignore[reportOptionalMemberAccess]  # matches "": never None
        b = _SKIP[1].match(bits, head + start, head + b).end() - head  # pyright: ignore[reportOptionalMemberAccess]  # matches "": never None
        if b >= head:
            return total
        x = (bits[b] ^ 0xFF) | bits[head + b]
    return (b << 3) + _LOWEST_BIT[x]

def find(bits, nwords, k, first, step, hint, window, limit=-1):
    """Start of k free chunks at an index = first (mod step), or -1 (limit: as
    the portable find's).

    The portable find with next_bit written out inline (a call costs more
    than the scan it makes)."""
    total = nwords << 5 if limit < 0 else limit
    end = nwords << 2
    skip_used = _SKIP[0].match
    skip_free = _SKIP[1].match
    lowest = _LOWEST_BIT
    best = -1
    best_len = total + 1
    left = -1
    wrapped = False
    pos = hint
    while True:
        # s: the first free chunk at or after pos
        s = total
        if pos < total:
            i = pos >> 3
            x = ((bits[i] ^ 0xFF) >> (pos & 7)) << (pos & 7)
            if not x:
                i = skip_used(bits, i + 1, end).end()  # pyright: ignore[reportOptionalMemberAccess]  # matches "": never None
                x = bits[i] ^ 0xFF if i < end else 0
            if x:
                s = min((i << 3) + lowest[x], total)
        if wrapped and s >= hint:
            break
        if s >= total:
            if wrapped:
                break
            wrapped = True
            pos = 0
            continue
        # e: the first used chunk after s (the padding guarantees one)
        i = s >> 3
        x = (bits[i] >> (s & 7)) << (s & 7)
        if not x:
            i = skip_free(bits, i + 1, end).end()  # pyright: ignore[reportOptionalMemberAccess]  # matches "": never None
            x = bits[i] if i < end else 0
        e = min((i << 3) + lowest[x], total) if x else total
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
    if n <= 0:
        return
    end = start + n
    lo = start >> 3
    hi = (end - 1) >> 3
    head_mask = (0xFF << (start & 7)) & 0xFF
    tail_mask = 0xFF >> (7 - ((end - 1) & 7))
    if lo == hi:
        head_mask &= tail_mask
    if value:
        bits[lo] |= head_mask
    else:
        bits[lo] &= head_mask ^ 0xFF
    if hi > lo:
        if hi > lo + 1:
            bits[lo + 1:hi] = (b"\xff" if value else b"\x00") * (hi - lo - 1)
        if value:
            bits[hi] |= tail_mask
        else:
            bits[hi] &= tail_mask ^ 0xFF

def copy(heap, dst, src, n):
    """heap[dst:dst+n] = heap[src:src+n] for regions that do not overlap."""
    heap[dst:dst + n] = heap[src:src + n]

def zero(heap, start, n):
    heap[start:start + n] = bytes(n)
