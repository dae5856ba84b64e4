# Bit kernels of chunkalloc as @micropython.viper machine code: the fast path.
#
# Same functions, arguments and results as chunkalloc_pure.py; see that file
# for what each one does. The bitmap is read 32 bits at a time. Importing this
# module raises SyntaxError on a port without a native emitter, and
# ImportError on CPython: chunkalloc then keeps the pure path.
#
# Viper ints are machine words: 64 bits on the unix port, 32 on boards. Words
# are masked with full = 0xFFFFFFFF, built at run time from 0xFFFF: the
# compiler folds a constant expression, and a folded 0xFFFFFFFF is no small
# int on a 32-bit port (nor in mpy-cross), so full would be an object and
# viper would refuse the module. The lowest set bit of a word is found with a
# de Bruijn multiply and a 32-byte table (measured: 10 % faster on the MCU mix
# than halving in five steps).

import micropython

# _DE_BRUIJN[(b * 0x077CB531) >> 27 & 31] is the index of the one bit in b
_DE_BRUIJN = bytes((0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
                    31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9))


def __getattr__(name):
    # find and next_bit, which no pool operation calls (the tests do, and gaps()),
    # live in chunkalloc_viper_scans and load on first use: 2 KB of machine code
    if name in ("find", "next_bit"):
        return getattr(__import__("chunkalloc_viper_scans"), name)
    raise AttributeError(name)


@micropython.viper
def run_end(bits, nwords: int, i: int) -> int:
    db = 0x077C
    db = (db << 16) | 0xB531  # 0x077CB531
    b = ptr32(bits)
    full = 0xFFFF
    full = (full << 16) | full
    total = nwords << 5
    j = i + 1
    if j >= total:
        return total
    w = j >> 5
    # a run ends at a free chunk or at the next head
    x = ((b[w] ^ full) | b[nwords + w]) & (full << (j & 31)) & full
    while x == 0:
        w += 1
        if w >= nwords:
            return total
        x = ((b[w] ^ full) | b[nwords + w]) & full
    lowest = ptr8(_DE_BRUIJN)
    return (w << 5) + lowest[((((x & (0 - x)) * db) & full) >> 27) & 31]


@micropython.viper
def fill(bits, start: int, n: int, value: int):
    b = ptr32(bits)
    full = 0xFFFF
    full = (full << 16) | full
    end = start + n
    while start < end:
        w = start >> 5
        lo = start & 31
        hi = lo + end - start
        if hi > 32:
            hi = 32
        mask = (full << lo) & full
        if hi < 32:
            mask = mask & ((1 << hi) - 1)
        if value != 0:
            b[w] = b[w] | mask
        else:
            b[w] = b[w] & (mask ^ full)
        start += hi - lo


@micropython.viper
def copy(heap, dst: int, src: int, n: int):
    size = int(len(heap))
    if n < 0 or dst < 0 or src < 0 or dst > size - n or src > size - n:
        raise ValueError("chunkalloc_viper: range outside the heap")
    p = ptr8(heap)
    if ((int(p) + dst) | (int(p) + src) | n) & 3 == 0:
        d = ptr32(int(p) + dst)
        s = ptr32(int(p) + src)
        words = n >> 2
        j = 0
        while j < words:
            d[j] = s[j]
            j += 1
    else:
        j = 0
        while j < n:
            p[dst + j] = p[src + j]
            j += 1


@micropython.viper
def zero(heap, start: int, n: int):
    if n < 0 or start < 0 or start > int(len(heap)) - n:
        raise ValueError("chunkalloc_viper: range outside the heap")
    p = ptr8(heap)
    if ((int(p) + start) | n) & 3 == 0:
        d = ptr32(int(p) + start)
        words = n >> 2
        j = 0
        while j < words:
            d[j] = 0
            j += 1
    else:
        j = 0
        while j < n:
            p[start + j] = 0
            j += 1


@micropython.viper
def offset_of(heap, view) -> int:
    return int(ptr8(view)) - int(ptr8(heap))


# -- whole operations, one call each (see chunkalloc_pure.py) -------------------
# find, run_end, next_bit and fill are written out inside them: a call from
# viper to a viper function goes through the runtime and costs more than the
# scan it makes (an empty-pool alloc+free pair on the Cortex-M3: ~9,600
# instructions with the calls).
#
# armv6m (RP2040): frozen native code is only 2-byte aligned, and the emitter's
# PC-relative literals (32-bit constants, forward jumps past 2 KB) are right
# only at 4-byte alignment (docs/upstream-armv6m-frozen-viper.md). So every
# constant here and in chunkalloc_viper_scans fits 16 bits (db, big and full
# are built from two halves) and each function's code stays under 2 KB
# (tests/test_build.py checks the code has no literal but the emitter's own
# argument-count one, read only when a call has the wrong number of arguments).


@micropython.viper
def _checked(bits, state, size: int, align: int) -> int:
    # size and align (-2 if bad), then check(bits, state), as chunkalloc_pure.check:
    # the state is untrusted. A function of its own, called by alloc and resize,
    # so that theirs stay under 2 KB of armv6m code (see above): their early
    # returns jump to the end
    big = 0x3FFF
    big = (big << 16) | 0xFFFF  # 0x3FFFFFFF
    if size < 1 or align < 1 or (align & (align - 1)) != 0 or align > big:
        return -2
    s = ptr32(state)
    nwords = s[0]
    shift = s[1]
    chunks = s[7]
    if nwords < 1 or nwords > (int(len(bits)) >> 3) or nwords > (big >> 5):
        return -3
    if shift < 0 or shift > 30:
        return -4
    if chunks < 1 or chunks > (nwords << 5) or chunks > (big >> shift):
        return -10
    if s[2] < 0 or s[2] > big:
        return -5
    if s[3] < 0 or s[3] >= chunks:
        return -6
    return 0


@micropython.viper
def alloc(bits, state, size: int, align: int) -> int:
    db = 0x077C
    db = (db << 16) | 0xB531  # 0x077CB531
    bad = int(_checked(bits, state, size, align))
    if bad != 0:
        return bad
    s = ptr32(state)
    nwords = s[0]
    shift = s[1]
    chunks = s[7]
    if size > (chunks << shift):
        return -1  # larger than the heap
    base = s[2]
    cs = 1 << shift
    low = align
    if low > cs:
        low = cs
    if (base & (low - 1)) != 0:
        return -1  # the heap itself is too badly aligned for this
    step = 1
    if align > cs:
        step = align >> shift
    k = (size + cs - 1) >> shift
    first = ((0 - base) & (align - 1)) >> shift
    hint = s[3]
    window = s[4]
    b = ptr32(bits)
    lowest = ptr8(_DE_BRUIJN)
    full = 0xFFFF
    full = (full << 16) | full
    total = nwords << 5
    # find(bits, nwords, k, first, step, hint, window), as in the function above
    best = -1
    best_len = chunks + 1
    left = -1
    wrapped = 0
    pos = hint
    while True:
        s0 = total
        if pos < total:
            w = pos >> 5
            x = (b[w] ^ full) & (full << (pos & 31)) & full
            while x == 0:
                w += 1
                if w >= nwords:
                    break
                x = b[w] ^ full
            if x != 0:
                s0 = (w << 5) + lowest[((((x & (0 - x)) * db) & full) >> 27) & 31]
        if wrapped != 0 and s0 >= hint:
            break
        if s0 >= chunks:  # runs end at chunks, whatever the padding bits say
            if wrapped != 0:
                break
            wrapped = 1
            pos = 0
            continue
        e = total
        w = s0 >> 5
        x = b[w] & (full << (s0 & 31)) & full
        while x == 0:
            w += 1
            if w >= nwords:
                break
            x = b[w]
        if x != 0:
            e = (w << 5) + lowest[((((x & (0 - x)) * db) & full) >> 27) & 31]
        if e > chunks:
            e = chunks
        c = s0 + ((first - s0) & (step - 1))
        if c + k <= e:
            if e - s0 < best_len:
                best = c
                best_len = e - s0
                if best_len == k:
                    break
            if left < 0:
                left = window
            else:
                left -= 1
            if left == 0:
                break
        pos = e
    i = best
    if i < 0:
        return -1
    # fill(bits, i, k, 1)
    start = i
    end = i + k
    while start < end:
        w = start >> 5
        lo = start & 31
        hi = lo + end - start
        if hi > 32:
            hi = 32
        mask = (full << lo) & full
        if hi < 32:
            mask = mask & ((1 << hi) - 1)
        b[w] = b[w] | mask
        start += hi - lo
    h = total + i
    b[h >> 5] = b[h >> 5] | (1 << (h & 31))
    hint = i + k
    if hint >= chunks:
        hint = 0
    s[3] = hint
    s[5] = s[5] + k
    s[6] = s[6] + 1
    return i << shift


@micropython.viper
def release(bits, state, offset: int) -> int:
    big = 0x3FFF
    big = (big << 16) | 0xFFFF  # 0x3FFFFFFF
    db = 0x077C
    db = (db << 16) | 0xB531  # 0x077CB531
    s = ptr32(state)
    # check_geometry(bits, state), as in chunkalloc_pure: the state is untrusted
    nwords = s[0]
    shift = s[1]
    chunks = s[7]
    if nwords < 1 or nwords > (int(len(bits)) >> 3) or nwords > (big >> 5):
        return -3
    if shift < 0 or shift > 30:
        return -4
    if chunks < 1 or chunks > (nwords << 5) or chunks > (big >> shift):
        return -10
    i = offset >> shift
    if offset < 0 or (offset & ((1 << shift) - 1)) != 0 or i >= chunks:
        return -1
    total = nwords << 5
    h = total + i
    b = ptr32(bits)
    if ((b[h >> 5] >> (h & 31)) & 1) == 0:
        return -1
    full = 0xFFFF
    full = (full << 16) | full
    # run_end(bits, nwords, i): the first free chunk or next head after i
    e = total
    j = i + 1
    if j < total:
        w = j >> 5
        x = ((b[w] ^ full) | b[nwords + w]) & (full << (j & 31)) & full
        while x == 0:
            w += 1
            if w >= nwords:
                break
            x = ((b[w] ^ full) | b[nwords + w]) & full
        if x != 0:
            lowest = ptr8(_DE_BRUIJN)
            e = (w << 5) + lowest[((((x & (0 - x)) * db) & full) >> 27) & 31]
    if e > chunks:
        e = chunks
    k = e - i
    # fill(bits, i, k, 0)
    start = i
    while start < e:
        w = start >> 5
        lo = start & 31
        hi = lo + e - start
        if hi > 32:
            hi = 32
        mask = (full << lo) & full
        if hi < 32:
            mask = mask & ((1 << hi) - 1)
        b[w] = b[w] & (mask ^ full)
        start += hi - lo
    b[h >> 5] = b[h >> 5] ^ (1 << (h & 31))
    s[5] = s[5] - k
    s[6] = s[6] - 1
    return k


@micropython.viper
def resize(bits, state, offset: int, size: int, align: int) -> int:
    big = 0x3FFF
    big = (big << 16) | 0xFFFF  # 0x3FFFFFFF
    db = 0x077C
    db = (db << 16) | 0xB531  # 0x077CB531
    bad = int(_checked(bits, state, size, align))
    if bad != 0:
        return bad
    s = ptr32(state)
    nwords = s[0]
    shift = s[1]
    chunks = s[7]
    i = offset >> shift
    if offset < 0 or (offset & ((1 << shift) - 1)) != 0 or i >= chunks:
        return -2
    total = nwords << 5
    h = total + i
    b = ptr32(bits)
    if ((b[h >> 5] >> (h & 31)) & 1) == 0:
        return -2
    if size > big or (((s[2] & (align - 1)) + offset) & (align - 1)) != 0:
        return -1
    k = (size + (1 << shift) - 1) >> shift
    full = 0xFFFF
    full = (full << 16) | full
    lowest = ptr8(_DE_BRUIJN)
    # run_end(bits, nwords, i)
    e = total
    j = i + 1
    if j < total:
        w = j >> 5
        x = ((b[w] ^ full) | b[nwords + w]) & (full << (j & 31)) & full
        while x == 0:
            w += 1
            if w >= nwords:
                break
            x = ((b[w] ^ full) | b[nwords + w]) & full
        if x != 0:
            e = (w << 5) + lowest[((((x & (0 - x)) * db) & full) >> 27) & 31]
    if e > chunks:
        e = chunks
    old = e - i
    value = 0
    if k <= old:  # shrink: free the tail
        start = i + k
        end = e
        s[5] = s[5] - (old - k)
    else:
        # next_bit(bits, nwords, e, 1): the first used chunk after the run
        n = total
        if e < total:
            w = e >> 5
            x = b[w] & (full << (e & 31)) & full
            while x == 0:
                w += 1
                if w >= nwords:
                    break
                x = b[w]
            if x != 0:
                n = (w << 5) + lowest[((((x & (0 - x)) * db) & full) >> 27) & 31]
        if n > chunks:
            n = chunks
        if n < i + k:
            return -1
        start = e
        end = i + k
        value = 1
        s[5] = s[5] + (k - old)
    # fill(bits, start, end - start, value)
    while start < end:
        w = start >> 5
        lo = start & 31
        hi = lo + end - start
        if hi > 32:
            hi = 32
        mask = (full << lo) & full
        if hi < 32:
            mask = mask & ((1 << hi) - 1)
        if value != 0:
            b[w] = b[w] | mask
        else:
            b[w] = b[w] & (mask ^ full)
        start += hi - lo
    return offset
