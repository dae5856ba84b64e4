"""A hypothesis state machine against a plain model of live allocations (CPython path).

Hypothesis chooses the geometry, the policy and every operation, and shrinks any failure
to a shortest sequence. After each step: no overlap, address alignment, contents kept
through realloc, counters match the model, a failure happens only when no aligned free
run exists, and check() passes.
"""

from __future__ import annotations

import chunkalloc
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

ALIGNS = st.sampled_from([1 << n for n in range(9)])  # 1 .. 256


class AllocatorMachine(RuleBasedStateMachine):
    @initialize(chunks=st.integers(1, 150), chunk_size=st.sampled_from([1, 8, 16, 64, 256]),
                best_fit=st.booleans(), skew=st.integers(0, 15))
    def setup(self, chunks: int, chunk_size: int, best_fit: bool, skew: int) -> None:
        # The heap starts skew chunks past a 4096-aligned address: a base alignment that
        # hypothesis chooses, so every run of a test case places allocations alike.
        self.cs = chunk_size
        start = skew * chunk_size
        pages = -(-(start + chunks * chunk_size) // 4096)
        heap = chunkalloc.heap(pages, 4096)[start:start + chunks * chunk_size]
        self.a = chunkalloc.ChunkAllocator(heap, chunkalloc.heap_bitmap(chunks), chunk_size,
                                           best_fit=best_fit)
        self.live: dict[int, bytes] = {}  # offset -> the bytes written there
        self.stamp = 0

    def chunks_for(self, size: int) -> int:
        return -(-size // self.cs)

    def aligned_run_exists(self, k: int, align: int) -> bool:
        base = self.a.address(0)
        return any((base + c * self.cs) % align == 0
                   for s, n in self.a.gaps() for c in range(s, s + n - k + 1))

    def write(self, offset: int, size: int) -> None:
        self.stamp += 1
        data = bytes((self.stamp + j * 13) & 0xFF for j in range(size))
        self.a.heap[offset:offset + size] = data
        self.live[offset] = data

    @rule(size=st.integers(1, 2048), align=ALIGNS)
    def alloc(self, size: int, align: int) -> None:
        offset = self.a.try_alloc(size, align)
        if offset < 0:
            assert not self.aligned_run_exists(self.chunks_for(size), align)
            return
        assert self.a.address(offset) % align == 0
        end = offset + self.a.size_of(offset)
        for other in self.live:
            assert end <= other or other + self.a.size_of(other) <= offset
        self.write(offset, size)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def free(self, data: st.DataObject) -> None:
        offset = data.draw(st.sampled_from(sorted(self.live)))
        self.a.free(offset)
        del self.live[offset]

    @precondition(lambda self: self.live)
    @rule(data=st.data(), size=st.integers(1, 2048), align=ALIGNS)
    def realloc(self, data: st.DataObject, size: int, align: int) -> None:
        offset = data.draw(st.sampled_from(sorted(self.live)))
        old = self.live[offset]
        try:
            new = self.a.realloc(offset, size, align)
        except MemoryError:
            assert not self.aligned_run_exists(self.chunks_for(size), align)
            return
        assert self.a.address(new) % align == 0
        keep = min(len(old), size)
        assert bytes(self.a.heap[new:new + keep]) == old[:keep]
        del self.live[offset]
        self.write(new, size)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def bad_free_changes_nothing(self, data: st.DataObject) -> None:
        offset = data.draw(st.sampled_from(sorted(self.live))) + data.draw(st.integers(1, 64))
        if offset in self.live:
            return
        before = bytes(self.a._bits), self.a.used
        try:
            self.a.free(offset)
        except ValueError:
            pass
        else:
            raise AssertionError(f"free({offset}) of no live allocation succeeded")
        assert (bytes(self.a._bits), self.a.used) == before

    @invariant()
    def matches_the_model(self) -> None:
        if not hasattr(self, "a"):
            return
        self.a.check()
        assert self.a.allocations == len(self.live)
        assert self.a.used == sum(self.chunks_for(len(d)) for d in self.live.values())
        for offset, data in self.live.items():
            assert bytes(self.a.heap[offset:offset + len(data)]) == data


AllocatorMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=60,
                                              deadline=None)
TestAllocatorModel = AllocatorMachine.TestCase
