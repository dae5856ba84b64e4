# The seed's freestanding example, as a MicroPython firmware image:
#
#     chunkalloc firmware --board qemu-m3      # chunkalloc and the static pool frozen in
#     chunkalloc run --board qemu-m3 firmware/examples/freestanding.py
#
# Nothing is copied to the board: chunkalloc and chunkpool come from the image. The
# pool is built when chunkpool is first imported (no init call), then a short model
# test runs on it: random alloc, realloc and free against a list of what should be live,
# checking contents, alignment and counters after every step, the bitmap
# (check()) every 50.

import gc
import sys

gc.collect()
free = gc.mem_free()
import chunkalloc  # noqa: E402 - after the measurement of the RAM it takes

gc.collect()
print("import chunkalloc took %d B of RAM" % (free - gc.mem_free()))
from chunkpool import POOL  # noqa: E402

# a frozen module's __file__ is its bare name; a file's is a path (/remote/... when mounted)
print("chunkalloc from", "the firmware image" if "/" not in chunkalloc.__file__
      else chunkalloc.__file__, "- kernel", getattr(POOL, "kernel", "viper" if POOL.fast else "pure"))
print("pool: %d chunks of %d B at 0x%x" % (POOL.chunks, POOL.chunk_size, POOL.address(0)))

# the seed's "vec": a buffer that grows
vec = POOL.alloc(4)
for n in range(1, 11):
    vec = POOL.realloc(vec, n * 4)
    POOL.heap[vec + n - 1] = n
print("vec:", list(POOL.heap[vec:vec + 10]))
POOL.free(vec)

STEPS = 1000
CHECK_EVERY = 50  # check() walks every bit in Python: not every step
_state = [2026]


def below(n):
    """xorshift32 mod n: the image holds the library alone, so the example brings its own."""
    x = _state[0]
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    _state[0] = x
    return x % n


live = []  # (offset, size, seed)
for step in range(STEPS):
    if live and below(3) == 0:
        offset, size, seed = live.pop(below(len(live)))
        for j in range(size):
            assert POOL.heap[offset + j] == (seed + j) & 0xFF, "contents lost at step %d" % step
        POOL.free(offset)
    else:
        size = 1 + below(600)
        align = 1 << below(6)
        offset = POOL.try_alloc(size, align)
        if offset < 0:
            continue
        assert POOL.address(offset) % align == 0, "misaligned at step %d" % step
        seed = below(256)
        for j in range(size):
            POOL.heap[offset + j] = (seed + j) & 0xFF
        live.append((offset, size, seed))
    assert POOL.allocations == len(live)
    if step % CHECK_EVERY == 0:
        POOL.check()
for offset, _, _ in live:
    POOL.free(offset)
POOL.check()
assert POOL.used == 0 and POOL.allocations == 0
print("model: %d steps OK on %s" % (STEPS, sys.implementation._machine))
