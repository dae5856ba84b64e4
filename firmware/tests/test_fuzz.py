# A fuzzer through the public interface (issue 14): fixed seeds, a bounded number
# of calls, random valid and invalid arguments, and now and then the bitmap or a
# private state slot tampered with for a few calls before it is put back. The
# heap sits between guard bytes and the bitmap has guard bytes past its rows
# (guarded.py): none may ever change. Each call returns as documented or raises
# ValueError, TypeError or MemoryError (RuntimeError too while tampered); the
# live allocations keep their bytes; check() passes outside the tampering.

import fwtest
from fwtest import Rng, heap_free, needs_memoryview
from guarded import Guarded

SEEDS = (1, 2, 3, 4, 5, 6, 7, 8)
GEOMETRIES = ((1, 64), (7, 16), (33, 8), (64, 16), (100, 1), (40, 64), (31, 32), (65, 4))
ALLOWED = (ValueError, TypeError, MemoryError)
BIG = 2 ** 31 - 1
SLOT_VALUES = (-1, 0, 1, 2, 3, 31, 40, 64, 65, 2 ** 29, BIG, -BIG - 1)
ALIGNS = (1, 1, 1, 2, 4, 8, 16, 64, 256, 0, 3, -4, 2 ** 30, 2 ** 40, 1.0, None)


def calls_per_seed():
    """CPython 5,000 a seed; the unix port (megabytes free) 3,000; a board 500."""
    free = heap_free()
    if free is None:
        return 5000
    return 3000 if free > 2 * 1024 * 1024 else 500


class Fuzzer:
    def __init__(self, seed):
        self.rng = Rng(seed)
        chunks, cs = GEOMETRIES[seed % len(GEOMETRIES)]
        self.g = Guarded(chunks, cs, fwtest.KERNEL, seed % 3 != 0)
        self.a = self.g.a
        self.cs = cs
        self.live = {}  # offset -> (bytes written, stamp)
        self.stamp = 0
        self.tampered = False
        self.calls = 0

    # -- arguments, valid and not -----------------------------------------------------

    def size(self):
        r = self.rng.below(20)
        if r < 14:
            return 1 + self.rng.below(self.cs * 6)
        return (0, -1, -self.cs, 2 ** 30, BIG, 2 ** 40, 1.5, "16")[r - 14]

    def align(self):
        return self.rng.choice(ALIGNS)

    def handle(self):
        r = self.rng.below(16)
        if self.live and r < 9:
            off = self.rng.choice(list(self.live))
            if r < 6:
                return off
            if r < 8:
                return self.a.view(off)
            return off + 1
        n = len(self.g.heap)
        return (self.rng.below(n + 1), -1, n, BIG, 2 ** 40, None, 1.0, self.g.heap,
                self.g.raw)[self.rng.below(9)]

    # -- the model ----------------------------------------------------------------------

    def stamp_live(self, off, n):
        self.stamp += 1
        n = min(n, self.a.size_of(off))
        for j in range(n):
            self.a.heap[off + j] = (self.stamp + j * 7) & 0xFF
        self.live[off] = (n, self.stamp)

    def intact(self, off):
        n, stamp = self.live[off]
        for j in range(n):
            if self.a.heap[off + j] != (stamp + j * 7) & 0xFF:
                return False
        return True

    def offset(self, handle):
        return handle if isinstance(handle, int) else self.a.offset_of(handle)

    # -- one call -----------------------------------------------------------------------

    def call(self):
        a = self.a
        rng = self.rng
        op = rng.below(10)
        self.calls += 1
        try:
            if op < 3:
                size = self.size()
                kind = rng.below(3)
                if kind == 0:
                    off = a.try_alloc(size, self.align())
                    if off < 0:
                        return
                elif kind == 1:
                    off = a.alloc(size, self.align())
                else:
                    off = a.alloc_zeroed(size)
                    assert not any(a.heap[off + j] for j in range(a.size_of(off)))
                self.new(off, size)
            elif op < 6:
                handle = self.handle()
                a.free(handle)
                self.gone(self.offset(handle) if not self.tampered or isinstance(handle, int)
                          else None)
            elif op < 8:
                handle = self.handle()
                if not isinstance(handle, int):
                    handle = a.offset_of(handle) if isinstance(handle, memoryview) else handle
                size = self.size()
                new = a.realloc(handle, size, self.align())
                self.moved(handle, new, size)
            elif op == 8:
                handle = self.handle()
                n = a.size_of(handle if isinstance(handle, int) else a.offset_of(handle))
                assert n > 0 and n % self.cs == 0
            else:
                view = a.alloc_view(self.size(), self.align())
                self.new(a.offset_of(view), len(view))
        except ALLOWED:
            pass
        except RuntimeError:
            if not self.tampered:
                raise

    # (while tampered, a plausible but wrong shift or chunks may answer offsets
    # past the heap: only the guards are checked then, after every call)

    def new(self, off, size):
        if not self.tampered:
            assert 0 <= off and off + self.a.size_of(off) <= len(self.g.heap), off
            assert off not in self.live
            self.stamp_live(off, size)

    def gone(self, off):
        if not self.tampered:
            del self.live[off]

    def moved(self, old, new, size):
        if self.tampered:
            return
        assert 0 <= new and new + self.a.size_of(new) <= len(self.g.heap), new
        n, stamp = self.live.pop(old)
        self.live[new] = (min(n, size), stamp)
        assert self.intact(new), "realloc lost the bytes of %d (now %d)" % (old, new)

    # -- tampering, then back ----------------------------------------------------------

    def tamper(self, calls):
        a = self.a
        g = self.g
        bits = bytes(g.bits[0:g.rows])
        state = list(a._state)
        if self.rng.below(2):
            slot = self.rng.below(8)
            a._state[slot] = self.rng.choice(SLOT_VALUES)
        elif self.rng.below(2):
            g.bits[0:g.rows] = bytes(g.rows)  # a reset: the padding goes too
        else:
            for j in range(g.rows):
                g.bits[j] = self.rng.below(256)
        self.tampered = True
        for _ in range(calls):
            self.call()
            assert g.intact() is None, g.intact()
        self.tampered = False
        g.bits[0:g.rows] = bits
        for slot in range(len(state)):
            a._state[slot] = state[slot]
        for off in self.live:  # bytes a tampered realloc or alloc_zeroed may have moved
            n, stamp = self.live[off]
            for j in range(n):
                a.heap[off + j] = (stamp + j * 7) & 0xFF

    def run(self, calls):
        while self.calls < calls:
            if self.rng.below(64) == 0:
                self.tamper(4)
            else:
                self.call()
            if self.calls % 8 == 0:
                assert self.g.intact() is None, self.g.intact()
            if self.calls % 64 == 0:
                self.a.check()
                for off in self.live:
                    assert self.intact(off), "the bytes at %d changed" % off
        assert self.g.intact() is None, self.g.intact()
        self.a.check()
        return self.calls


def test_fuzzed_calls_keep_every_guard_byte_and_raise_only_as_documented():
    needs_memoryview()
    per_seed = calls_per_seed()
    for seed in SEEDS:
        Fuzzer(seed).run(per_seed)
