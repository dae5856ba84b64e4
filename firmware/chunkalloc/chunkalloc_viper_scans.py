# The viper kernel's scans on their own, find and next_bit: the tests compare
# them with the other kernels' and gaps() walks the bitmap with next_bit, but a
# pool's operations have them written out inside (chunkalloc_viper.py), so they
# load on first use (chunkalloc_viper's __getattr__), not with every viper pool.

import micropython

from chunkalloc_viper import _DE_BRUIJN


@micropython.viper
def next_bit(bits, nwords: int, pos: int, value: int) -> int:
    db = 0x077C
    db = (db << 16) | 0xB531  # 0x077CB531
    b = ptr32(bits)
    full = 0xFFFF
    full = (full << 16) | full
    total = nwords << 5
    if pos >= total:
        return total
    flip = 0
    if value == 0:
        flip = full
    w = pos >> 5
    x = (b[w] ^ flip) & (full << (pos & 31)) & full
    while x == 0:
        w += 1
        if w >= nwords:
            return total
        x = (b[w] ^ flip) & full
    lowest = ptr8(_DE_BRUIJN)
    return (w << 5) + lowest[((((x & (0 - x)) * db) & full) >> 27) & 31]


@micropython.viper
def find(bits, nwords: int, k: int, first: int, step: int, hint: int, window: int) -> int:
    db = 0x077C
    db = (db << 16) | 0xB531  # 0x077CB531
    b = ptr32(bits)
    lowest = ptr8(_DE_BRUIJN)
    full = 0xFFFF
    full = (full << 16) | full
    total = nwords << 5
    best = -1
    best_len = total + 1
    left = -1
    wrapped = 0
    pos = hint
    while True:
        # s: the first free chunk at or after pos (a 0 bit in the used row)
        s = total
        if pos < total:
            w = pos >> 5
            x = (b[w] ^ full) & (full << (pos & 31)) & full
            while x == 0:
                w += 1
                if w >= nwords:
                    break
                x = b[w] ^ full
            if x != 0:
                s = (w << 5) + lowest[((((x & (0 - x)) * db) & full) >> 27) & 31]
        if wrapped != 0 and s >= hint:
            break
        if s >= total:
            if wrapped != 0:
                break
            wrapped = 1
            pos = 0
            continue
        # e: the first used chunk after s (the padding or the end stops it)
        e = total
        w = s >> 5
        x = b[w] & (full << (s & 31)) & full
        while x == 0:
            w += 1
            if w >= nwords:
                break
            x = b[w]
        if x != 0:
            e = (w << 5) + lowest[((((x & (0 - x)) * db) & full) >> 27) & 31]
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
