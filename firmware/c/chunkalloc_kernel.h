// The bit kernels of chunkalloc in C: one source for the dynamic native module
// (chunkalloc_c.c, built with MicroPython's py/dynruntime.mk) and any other
// wrapper. Same functions, arguments and results as firmware/chunkalloc_pure.py
// and chunkalloc_viper.py (read there what each does); the decisions are the
// same bit for bit (firmware/tests/test_kernels.py, test_model.py).
//
// The bitmap is read as little-endian 32-bit words (every target here is
// little-endian); state is the allocator's array('i') (slot names as in
// chunkalloc.py). No libc, no static data but one 32-byte table, nothing
// allocated: the callers check the buffers' lengths first.

#ifndef CHUNKALLOC_KERNEL_H
#define CHUNKALLOC_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define CK_INLINE static inline __attribute__((always_inline))
// a function called from several places kept once: code is RAM where a native
// module loads (a call costs a few instructions)
#define CK_ONCE static __attribute__((noinline))
#else
#define CK_INLINE static inline
#define CK_ONCE static
#endif
// the find, which scans the bitmap: -O2 rather than the module's -Os, on Thumb
// (armv6m: ~45 instructions less per empty-pool alloc; the x64 module that
// -O2 makes does not load)
#if defined(__GNUC__) && !defined(__clang__) && defined(__thumb__)
#define CK_HOT static __attribute__((optimize("O2")))
#else
#define CK_HOT static
#endif

#define CK_FULL 0xFFFFFFFFu
#define CK_MAX 0x3FFFFFFF  // sizes, offsets and aligns stay below 2**30

enum { CK_NWORDS, CK_SHIFT, CK_BASE, CK_HINT, CK_WINDOW, CK_USED, CK_ALLOCATIONS,
       CK_CHUNKS, CK_BASE_HI, CK_STATE_LEN };

// Results of the whole operations besides offsets and counts: -1 no room (or
// not live, release), -2 invalid argument, CK_CORRUPT - slot: the state's slot
// holds what no allocator could have written (the Python layer raises
// RuntimeError naming it).
#define CK_CORRUPT (-3)

// 0 when the state's geometry can be trusted with a bitmap of words 32-bit
// words (words <= CK_MAX >> 4: ck_words), else CK_CORRUPT - the first slot
// found bad: nwords, shift, chunks (what release reads).
CK_ONCE int32_t ck_check_geometry(const int32_t *s, uint32_t words) {
    uint32_t nwords = (uint32_t)s[CK_NWORDS];
    if (nwords - 1 >= words >> 1) {  // 1 .. words / 2, so 32 * nwords < 2**31
        return CK_CORRUPT - CK_NWORDS;
    }
    uint32_t shift = (uint32_t)s[CK_SHIFT];
    if (shift > 30) {
        return CK_CORRUPT - CK_SHIFT;
    }
    uint32_t chunks = (uint32_t)s[CK_CHUNKS];
    if (chunks - 1 >= nwords << 5 || chunks > (uint32_t)CK_MAX >> shift) {
        return CK_CORRUPT - CK_CHUNKS;  // 1 .. 32 * nwords, chunks << shift < 2**30
    }
    return 0;
}

// ck_check_geometry, and base and hint (what alloc and resize read too).
// Window and the counters need no check: no index comes from them (the
// counters wrap; window only counts).
CK_ONCE int32_t ck_check(const int32_t *s, uint32_t words) {
    int32_t bad = ck_check_geometry(s, words);
    if (bad) {
        return bad;
    }
    if ((uint32_t)s[CK_BASE] > CK_MAX) {  // an address mod 2**30: nothing else is written there
        return CK_CORRUPT - CK_BASE;
    }
    if ((uint32_t)s[CK_HINT] >= (uint32_t)s[CK_CHUNKS]) {
        return CK_CORRUPT - CK_HINT;
    }
    return 0;
}

// the words of a bitmap of len bytes, as ck_check takes them
CK_INLINE uint32_t ck_words(size_t len) {
    return len >> 2 > (size_t)(CK_MAX >> 4) ? (uint32_t)(CK_MAX >> 4) : (uint32_t)(len >> 2);
}

// counters wrap rather than overflow (a caller may write any int into them)
static inline void ck_add(int32_t *s, int slot, int32_t n) {
    s[slot] = (int32_t)((uint32_t)s[slot] + (uint32_t)n);
}

// index of the lowest set bit of x (x != 0)
CK_INLINE int32_t ck_lowest(uint32_t x) {
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) \
    || (defined(__ARM_ARCH) && __ARM_ARCH >= 7))
    return __builtin_ctz(x);  // one or two instructions here
    #else
    // armv6m and rv32imc have no count-zeros instruction (gcc would call libgcc)
    static const uint8_t de_bruijn[32] = {
        0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
        31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9
    };
    return de_bruijn[((x & (0u - x)) * 0x077CB531u) >> 27];
    #endif
}

static int32_t ck_next_bit(const uint32_t *b, int32_t nwords, int32_t pos, int32_t value) {
    int32_t total = nwords << 5;
    if (pos >= total) {
        return total;
    }
    uint32_t flip = value ? 0 : CK_FULL;
    int32_t w = pos >> 5;
    uint32_t x = (b[w] ^ flip) & (CK_FULL << (pos & 31));
    while (x == 0) {
        if (++w >= nwords) {
            return total;
        }
        x = b[w] ^ flip;
    }
    return (w << 5) + ck_lowest(x);
}

CK_ONCE int32_t ck_run_end(const uint32_t *b, int32_t nwords, int32_t i) {
    int32_t total = nwords << 5;
    int32_t j = i + 1;
    if (j >= total) {
        return total;
    }
    int32_t w = j >> 5;
    // a run ends at a free chunk or at the next head
    uint32_t x = (~b[w] | b[nwords + w]) & (CK_FULL << (j & 31));
    while (x == 0) {
        if (++w >= nwords) {
            return total;
        }
        x = ~b[w] | b[nwords + w];
    }
    return (w << 5) + ck_lowest(x);
}

// find, with runs that end at chunk end (<= 32 * nwords) whatever the bits
// past it say. The same decisions as the pure find, with one scan saved: after
// the wrap, the gap that reaches hint is the one already measured from hint
// (hint_end), so its end is not searched for again (an empty pool's search
// would scan it twice).
CK_HOT int32_t ck_find_below(const uint32_t *b, int32_t end, int32_t k, int32_t first,
    int32_t step, int32_t hint, int32_t window) {
    int32_t wend = end > 0 ? ((end - 1) >> 5) + 1 : 0;  // words holding chunks below end
    int32_t best = -1;
    int32_t best_len = end + 1;
    int32_t left = -1;
    int32_t hint_end = -1;  // the end of the gap starting at hint, once measured
    int wrapped = 0;
    int32_t pos = hint;
    for (;;) {
        // s: the first free chunk at or after pos (a 0 bit in the used row)
        int32_t s = end;
        if (pos < end) {
            const uint32_t *p = b + (pos >> 5);
            uint32_t x = ~*p & (CK_FULL << (pos & 31));
            while (x == 0 && ++p < b + wend) {
                x = ~*p;
            }
            if (x != 0) {
                int32_t f = (int32_t)((p - b) << 5) + ck_lowest(x);
                s = f < end ? f : end;
            }
        }
        if (wrapped && s >= hint) {
            break;
        }
        if (s >= end) {
            if (wrapped) {
                break;
            }
            wrapped = 1;
            pos = 0;
            continue;
        }
        // e: the first used chunk after s (the padding or the end stops it);
        // after the wrap, no further than hint when the gap at hint is known
        int32_t stop = wrapped && hint_end >= 0 ? hint : end;
        int32_t wstop = stop == end ? wend : ((stop - 1) >> 5) + 1;
        int32_t e = stop;
        const uint32_t *p = b + (s >> 5);
        const uint32_t *pend = b + wstop;
        uint32_t x = *p & (CK_FULL << (s & 31));
        while (x == 0 && ++p < pend) {
            x = *p;
        }
        if (x != 0) {
            int32_t f = (int32_t)((p - b) << 5) + ck_lowest(x);
            e = f < stop ? f : stop;
        }
        if (stop != end && e == stop) {
            e = hint_end;  // this gap runs on into the gap at hint
        }
        if (!wrapped && s == hint) {
            hint_end = e;
        }
        int32_t c = s + ((first - s) & (step - 1));
        if (c <= e - k) {
            if (e - s < best_len) {
                best = c;
                best_len = e - s;
                if (best_len == k) {
                    return c;
                }
            }
            if (left < 0) {  // the first fit: compare window more that fit
                left = window;
            } else {
                left -= 1;
            }
            if (left == 0) {
                return best;
            }
        }
        pos = e;
    }
    return best;
}

static int32_t ck_find(const uint32_t *b, int32_t nwords, int32_t k, int32_t first, int32_t step,
    int32_t hint, int32_t window) {
    return ck_find_below(b, nwords << 5, k, first, step, hint, window);
}

static void ck_fill(uint32_t *b, int32_t start, int32_t n, int32_t value) {
    int32_t end = start + n;
    while (start < end) {
        int32_t w = start >> 5;
        int32_t lo = start & 31;
        int32_t hi = lo + end - start;
        if (hi > 32) {
            hi = 32;
        }
        uint32_t mask = CK_FULL << lo;
        if (hi < 32) {
            mask &= (1u << hi) - 1;
        }
        if (value) {
            b[w] |= mask;
        } else {
            b[w] &= ~mask;
        }
        start += hi - lo;
    }
}

// chunks for size bytes (1 <= size <= CK_MAX, 0 <= shift <= 30)
static inline int32_t ck_chunks_for(int32_t size, int32_t shift) {
    return (int32_t)(((uint32_t)size + ((uint32_t)1 << shift) - 1) >> shift);
}

static inline int ck_bad_align(int32_t align) {
    return align < 1 || (align & (align - 1)) != 0 || align > CK_MAX;
}

// ck_alloc for a size and align already found valid (the op's fast path)
static int32_t ck_alloc_valid(uint32_t *b, uint32_t words, int32_t *s, int32_t size,
    int32_t align) {
    int32_t bad = ck_check(s, words);
    if (bad) {
        return bad;
    }
    int32_t nwords = s[CK_NWORDS];
    int32_t shift = s[CK_SHIFT];
    int32_t base = s[CK_BASE];
    int32_t chunks = s[CK_CHUNKS];
    int32_t cs = (int32_t)1 << shift;
    int32_t low = align < cs ? align : cs;
    if (base & (low - 1)) {
        return -1;  // the heap itself is too badly aligned for this
    }
    int32_t step = align > cs ? align >> shift : 1;
    int32_t k = ck_chunks_for(size, shift);
    int32_t first = (int32_t)((0u - (uint32_t)base) & (uint32_t)(align - 1)) >> shift;
    int32_t i = ck_find_below(b, chunks, k, first, step,
        s[CK_HINT], s[CK_WINDOW]);
    if (i < 0) {
        return -1;
    }
    ck_fill(b, i, k, 1);
    int32_t h = (nwords << 5) + i;
    b[h >> 5] |= (uint32_t)1 << (h & 31);
    s[CK_HINT] = i + k < chunks ? i + k : 0;
    ck_add(s, CK_USED, k);
    ck_add(s, CK_ALLOCATIONS, 1);
    return i << shift;
}

// try_alloc: offset, -1 when no room, -2 when size or align is invalid,
// CK_CORRUPT - slot (ck_check); words: the bitmap's length in 32-bit words
static int32_t ck_alloc(uint32_t *b, uint32_t words, int32_t *s, int32_t size, int32_t align) {
    if (size < 1 || ck_bad_align(align)) {
        return -2;
    }
    return ck_alloc_valid(b, words, s, size, align);
}

// is offset the start of a live allocation? its head chunk, else -1 (the
// state checked)
CK_INLINE int32_t ck_head(const uint32_t *b, const int32_t *s, int32_t offset) {
    int32_t shift = s[CK_SHIFT];
    int32_t i = offset >> shift;
    if (offset < 0 || (offset & (((int32_t)1 << shift) - 1)) != 0 || i >= s[CK_CHUNKS]) {
        return -1;
    }
    int32_t h = (s[CK_NWORDS] << 5) + i;
    if (((b[h >> 5] >> (h & 31)) & 1) == 0) {
        return -1;
    }
    return i;
}

// the end of the run at head chunk i, at most chunks (the state checked)
static inline int32_t ck_run_end_of(const uint32_t *b, const int32_t *s, int32_t i) {
    int32_t e = ck_run_end(b, s[CK_NWORDS], i);
    return e < s[CK_CHUNKS] ? e : s[CK_CHUNKS];
}

// free: chunks freed, -1 when offset starts no live allocation,
// CK_CORRUPT - slot (ck_check_geometry)
static int32_t ck_release(uint32_t *b, uint32_t words, int32_t *s, int32_t offset) {
    int32_t bad = ck_check_geometry(s, words);
    if (bad) {
        return bad;
    }
    int32_t i = ck_head(b, s, offset);
    if (i < 0) {
        return -1;
    }
    int32_t k = ck_run_end_of(b, s, i) - i;
    ck_fill(b, i, k, 0);
    int32_t h = (s[CK_NWORDS] << 5) + i;
    b[h >> 5] ^= (uint32_t)1 << (h & 31);
    ck_add(s, CK_USED, -k);
    ck_add(s, CK_ALLOCATIONS, -1);
    return k;
}

// realloc in place: offset when resized in place (shrunk, or grown into the
// free chunks after it), -1 when it must move (the address is not aligned, or
// no room after it), -2 when offset is no live allocation or size or align is
// invalid, CK_CORRUPT - slot (ck_check)
static int32_t ck_resize(uint32_t *b, uint32_t words, int32_t *s, int32_t offset, int32_t size,
    int32_t align) {
    if (size < 1 || ck_bad_align(align)) {
        return -2;
    }
    int32_t bad = ck_check(s, words);
    if (bad) {
        return bad;
    }
    int32_t i = ck_head(b, s, offset);
    if (i < 0) {
        return -2;
    }
    if (((s[CK_BASE] & (align - 1)) + offset) & (align - 1)) {
        return -1;
    }
    int32_t k = ck_chunks_for(size, s[CK_SHIFT]);
    int32_t old = ck_run_end_of(b, s, i) - i;
    if (k <= old) {  // shrink: free the tail
        ck_fill(b, i + k, old - k, 0);
        ck_add(s, CK_USED, k - old);
        return offset;
    }
    int32_t next = ck_next_bit(b, s[CK_NWORDS], i + old, 1);
    if ((next < s[CK_CHUNKS] ? next : s[CK_CHUNKS]) >= i + k) {  // grow into free chunks
        ck_fill(b, i + old, k - old, 1);
        ck_add(s, CK_USED, k - old);
        return offset;
    }
    return -1;
}

// copy n bytes from s to d (regions that do not overlap), by words where
// both are word-aligned
CK_ONCE void ck_copy(uint8_t *d, const uint8_t *s, uint32_t n) {
    if ((((uintptr_t)d | (uintptr_t)s | n) & 3) == 0) {
        for (uint32_t j = 0; j < n >> 2; j++) {
            ((uint32_t *)d)[j] = ((const uint32_t *)s)[j];
        }
    } else {
        for (uint32_t j = 0; j < n; j++) {
            d[j] = s[j];
        }
    }
}

// realloc whole: resize in place, else move and copy (heap: the heap's first
// byte, heap_len its length in bytes), as ChunkAllocator.realloc does; the new
// offset, -1 when there is no room (the allocation unchanged), -2 as
// ck_resize, CK_CORRUPT - CK_CHUNKS when the heap is shorter than the state's
// chunks << shift (it was resized)
static int32_t ck_realloc(uint32_t *b, uint32_t words, int32_t *s, uint8_t *heap, size_t heap_len,
    int32_t offset, int32_t size, int32_t align) {
    int32_t r = ck_resize(b, words, s, offset, size, align);
    if (r != -1) {
        return r;
    }
    int32_t shift = s[CK_SHIFT];  // checked by ck_resize
    if ((size_t)s[CK_CHUNKS] > heap_len >> shift) {
        return CK_CORRUPT - CK_CHUNKS;
    }
    int32_t i = offset >> shift;
    int32_t k = ck_chunks_for(size, shift);
    int32_t old = ck_run_end_of(b, s, i) - i;
    int32_t moved = ck_alloc(b, words, s, size, align);
    if (moved < 0) {
        return -1;
    }
    // both runs lie below chunks: the bytes below chunks << shift <= heap_len
    ck_copy(heap + moved, heap + offset, (uint32_t)(k < old ? k : old) << shift);
    ck_release(b, words, s, offset);
    return moved;
}

// the offset of address at inside a heap of s's geometry at heap, or -1
static int32_t ck_offset_in(const int32_t *s, uintptr_t heap, uintptr_t at) {
    uint32_t shift = (uint32_t)s[CK_SHIFT];
    if (at < heap || shift > 30 || at - heap >= ((uintptr_t)(uint32_t)s[CK_CHUNKS] << shift)
        || at - heap > CK_MAX) {
        return -1;
    }
    return (int32_t)(at - heap);
}

#endif  // CHUNKALLOC_KERNEL_H
