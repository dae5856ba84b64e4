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

#include <stdint.h>

#define CK_FULL 0xFFFFFFFFu
#define CK_MAX 0x3FFFFFFF  // sizes, offsets and aligns stay below 2**30

enum { CK_NWORDS, CK_SHIFT, CK_BASE, CK_HINT, CK_WINDOW, CK_USED, CK_ALLOCATIONS,
       CK_CHUNKS, CK_BASE_HI, CK_STATE_LEN };

// index of the lowest set bit of x (x != 0)
static inline int32_t ck_lowest(uint32_t x) {
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

static int32_t ck_run_end(const uint32_t *b, int32_t nwords, int32_t i) {
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

static int32_t ck_find(const uint32_t *b, int32_t nwords, int32_t k, int32_t first, int32_t step,
    int32_t hint, int32_t window) {
    int32_t total = nwords << 5;
    int32_t best = -1;
    int32_t best_len = total + 1;
    int32_t left = -1;
    int wrapped = 0;
    int32_t pos = hint;
    for (;;) {
        // s: the first free chunk at or after pos (a 0 bit in the used row)
        int32_t s = total;
        if (pos < total) {
            int32_t w = pos >> 5;
            uint32_t x = ~b[w] & (CK_FULL << (pos & 31));
            while (x == 0 && ++w < nwords) {
                x = ~b[w];
            }
            if (x != 0) {
                s = (w << 5) + ck_lowest(x);
            }
        }
        if (wrapped && s >= hint) {
            break;
        }
        if (s >= total) {
            if (wrapped) {
                break;
            }
            wrapped = 1;
            pos = 0;
            continue;
        }
        // e: the first used chunk after s (the padding or the end stops it)
        int32_t e = total;
        int32_t w = s >> 5;
        uint32_t x = b[w] & (CK_FULL << (s & 31));
        while (x == 0 && ++w < nwords) {
            x = b[w];
        }
        if (x != 0) {
            e = (w << 5) + ck_lowest(x);
        }
        int32_t c = s + ((first - s) & (step - 1));
        if (c + k <= e) {
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

// try_alloc: offset, -1 when no room, -2 when size or align is invalid
static int32_t ck_alloc(uint32_t *b, int32_t *s, int32_t size, int32_t align) {
    if (size < 1 || align < 1 || (align & (align - 1)) != 0 || align > CK_MAX) {
        return -2;
    }
    int32_t nwords = s[CK_NWORDS];
    int32_t shift = s[CK_SHIFT];
    int32_t base = s[CK_BASE];
    int32_t cs = (int32_t)1 << shift;
    int32_t low = align < cs ? align : cs;
    if (base & (low - 1)) {
        return -1;  // the heap itself is too badly aligned for this
    }
    int32_t step = align > cs ? align >> shift : 1;
    int32_t k = (int32_t)(((uint32_t)size + (uint32_t)cs - 1) >> shift);
    int32_t i = ck_find(b, nwords, k, ((0 - base) & (align - 1)) >> shift, step,
        s[CK_HINT], s[CK_WINDOW]);
    if (i < 0) {
        return -1;
    }
    ck_fill(b, i, k, 1);
    int32_t h = (nwords << 5) + i;
    b[h >> 5] |= (uint32_t)1 << (h & 31);
    s[CK_HINT] = i + k < s[CK_CHUNKS] ? i + k : 0;
    s[CK_USED] += k;
    s[CK_ALLOCATIONS] += 1;
    return i << shift;
}

// is offset the start of a live allocation? its head chunk, else -1
static int32_t ck_head(const uint32_t *b, const int32_t *s, int32_t offset) {
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

// free: chunks freed, or -1 when offset starts no live allocation
static int32_t ck_release(uint32_t *b, int32_t *s, int32_t offset) {
    int32_t i = ck_head(b, s, offset);
    if (i < 0) {
        return -1;
    }
    int32_t nwords = s[CK_NWORDS];
    int32_t k = ck_run_end(b, nwords, i) - i;
    ck_fill(b, i, k, 0);
    int32_t h = (nwords << 5) + i;
    b[h >> 5] ^= (uint32_t)1 << (h & 31);
    s[CK_USED] -= k;
    s[CK_ALLOCATIONS] -= 1;
    return k;
}

// realloc in place: offset when resized in place (shrunk, or grown into the
// free chunks after it), -1 when it must move (the address is not aligned, or
// no room after it), -2 when offset is no live allocation or size or align is
// invalid
static int32_t ck_resize(uint32_t *b, int32_t *s, int32_t offset, int32_t size, int32_t align) {
    if (size < 1 || align < 1 || (align & (align - 1)) != 0 || align > CK_MAX) {
        return -2;
    }
    int32_t i = ck_head(b, s, offset);
    if (i < 0) {
        return -2;
    }
    if (((s[CK_BASE] & (align - 1)) + offset) & (align - 1)) {
        return -1;
    }
    int32_t nwords = s[CK_NWORDS];
    int32_t shift = s[CK_SHIFT];
    int32_t k = (int32_t)(((uint32_t)size + ((uint32_t)1 << shift) - 1) >> shift);
    int32_t old = ck_run_end(b, nwords, i) - i;
    if (k <= old) {  // shrink: free the tail
        ck_fill(b, i + k, old - k, 0);
        s[CK_USED] -= old - k;
        return offset;
    }
    if (ck_next_bit(b, nwords, i + old, 1) >= i + k) {  // grow into free chunks
        ck_fill(b, i + old, k - old, 1);
        s[CK_USED] += k - old;
        return offset;
    }
    return -1;
}

// realloc whole: resize in place, else move and copy (heap: the heap's first
// byte), as ChunkAllocator.realloc does; the new offset, -1 when there is no
// room (the allocation unchanged), -2 as ck_resize
static int32_t ck_realloc(uint32_t *b, int32_t *s, uint8_t *heap, int32_t offset, int32_t size,
    int32_t align) {
    int32_t r = ck_resize(b, s, offset, size, align);
    if (r != -1) {
        return r;
    }
    int32_t shift = s[CK_SHIFT];
    int32_t i = offset >> shift;
    int32_t k = (int32_t)(((uint32_t)size + ((uint32_t)1 << shift) - 1) >> shift);
    int32_t old = ck_run_end(b, s[CK_NWORDS], i) - i;
    int32_t moved = ck_alloc(b, s, size, align);
    if (moved < 0) {
        return -1;
    }
    uint8_t *d = heap + moved;
    const uint8_t *from = heap + offset;
    uint32_t n = (uint32_t)(k < old ? k : old) << shift;
    if ((((uintptr_t)d | (uintptr_t)from | n) & 3) == 0) {
        for (uint32_t j = 0; j < n >> 2; j++) {
            ((uint32_t *)d)[j] = ((const uint32_t *)from)[j];
        }
    } else {
        for (uint32_t j = 0; j < n; j++) {
            d[j] = from[j];
        }
    }
    ck_release(b, s, offset);
    return moved;
}

// the offset of address at inside a heap of s's geometry at heap, or -1
static int32_t ck_offset_in(const int32_t *s, const uint8_t *heap, const uint8_t *at) {
    if (at < heap || (uintptr_t)(at - heap) >= ((uintptr_t)(uint32_t)s[CK_CHUNKS] << s[CK_SHIFT])) {
        return -1;
    }
    return (int32_t)(at - heap);
}

#endif  // CHUNKALLOC_KERNEL_H
