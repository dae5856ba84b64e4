# Request streams of the benchmark: every contender replays the same stream.
#
# A stream is drawn up front from a fixed seed into compact arrays, so drawing
# random numbers is never timed and every contender sees the same requests:
#
#   sizes[i], aligns[i]  the i-th allocation request (bytes, power of two)
#   drops[i]             1 when the seed's 1-in-10 draw hits at step i: if more
#                        than 10 allocations are live, free the 7 oldest first
#   cap                  live requested bytes allowed (0: no cap); the oldest
#                        allocations are freed until the next request fits
#
# The pool is POOL_CHUNKS chunks of CHUNK bytes by default (4,096 x 64 B on
# the unix port). The seed used 256 B chunks, sizes 64..16383 B and alignments
# 1..128; a quarter of each keeps its sizes in chunks.

from array import array

from xorshift import Rng

CHUNK = 64
POOL_CHUNKS = 4096
ALIGNS_SEED = (1, 2, 4, 8, 16, 32)  # the seed's 1..128 over 4
ALIGNS_MCU = (1, 2, 4, 8, 16, 32)


def blank(typecode, n):
    """An array of n items whose contents every user writes before reading, made without
    a temporary n-item bytes object (bytes would double the peak on a board's heap)."""
    if typecode == "H" and n > 1 << 16:
        return array(typecode, bytes(2 * n))
    return array(typecode, range(n))


class Stream:
    def __init__(self, steps, cap):
        self.steps = steps
        self.cap = cap
        self.sizes = blank("H", steps)
        self.aligns = bytearray(steps)  # powers of two up to 32
        self.drops = bytearray(steps)

    def peak(self):
        """Most allocations live at once when every request succeeds (a replay that
        frees as the benchmark's loops do)."""
        sizes = self.sizes
        drops = self.drops
        cap = self.cap
        first = live = live_bytes = peak = 0
        for i in range(self.steps):
            size = sizes[i]
            d = 7 if drops[i] and live > 10 else 0
            while live and (d or (cap and live_bytes + size > cap)):
                live -= 1
                live_bytes -= sizes[first]
                first += 1
                if d:
                    d -= 1
            live += 1
            live_bytes += size
            if live > peak:
                peak = live
        return peak


def _draw(steps, seed, lo, hi, aligns, cap):
    rng = Rng(seed)
    s = Stream(steps, cap)
    for i in range(steps):
        s.sizes[i] = lo + rng.below(hi - lo)
        s.aligns[i] = aligns[rng.below(len(aligns))]
        s.drops[i] = 1 if rng.below(10) == 0 else 0
    return s


def seed_stream(steps, seed, pool_bytes):
    """The seed's examples/bench.rs, scaled: sizes 16..4095 B (1/4 to 64 chunks, as
    there), no cap: the pool fills and most later requests fail, as in its 10 s run."""
    return _draw(steps, seed, CHUNK // 4, CHUNK * 64, ALIGNS_SEED, 0)


def mcu_stream(steps, seed, pool_bytes):
    """MCU mix: sizes 16..1023 B, alignments 1..32, live bytes capped at 75 % of the pool."""
    return _draw(steps, seed, 16, 1024, ALIGNS_MCU, pool_bytes * 3 // 4)


class Resizes:
    """Realloc-heavy: `buffers` live buffers; step i resizes buffer which[i]
    to sizes[i] (grow or shrink by up to a factor of two, 16..2047 B)."""

    def __init__(self, steps, seed, buffers):
        rng = Rng(seed)
        self.steps = steps
        self.buffers = buffers
        self.start = blank("H", buffers)
        self.which = blank("H", steps)
        self.sizes = blank("H", steps)
        now = blank("H", buffers)
        for b in range(buffers):
            self.start[b] = now[b] = 16 + rng.below(1024 - 16)
        for i in range(steps):
            b = rng.below(buffers)
            old = now[b]
            if rng.below(2):
                new = old + 1 + rng.below(old)  # grow up to 2x
            else:
                new = old - rng.below(old // 2 + 1)  # shrink down to 1/2
            new = min(2047, max(16, new))
            self.which[i] = b
            self.sizes[i] = now[b] = new
