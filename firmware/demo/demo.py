# The freestanding demo: a packet pipeline served entirely from one pool while
# the GC heap is locked (micropython.heap_lock()), as it would run from a
# radio's interrupt handler.
#
# Each step "receives" a packet of random size (try_alloc: an IRQ handler must
# not raise), stamps it, sometimes grows it by a fragment (realloc, in place
# when the next chunks are free) or trims it, and queues it. The oldest packet
# is "sent" (verified, then freed) when the queue is full or the pool runs low.
# A receive that finds no room is a drop, counted, as a real driver would.
#
#   import demo; demo.main(3)             # 3 seconds on the default pool
#   demo.run(demo.make_pool(), 1.0, tick) # tick(pool) ~every 100 ms, unlocked
#
# The default pool is CHUNKS chunks, or fewer on a board whose free GC heap is
# less than twice that (board_chunks) or has no free block that large.

import gc

import chunkalloc
import chunkalloc_map

try:
    from micropython import heap_lock, heap_unlock
except ImportError:  # CPython: nothing to lock
    def heap_lock():
        pass

    def heap_unlock():
        pass

try:
    from time import ticks_ms, ticks_diff
except ImportError:  # CPython
    from time import monotonic

    def ticks_ms():
        return int(monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

CHUNKS = 512
CHUNK_SIZE = 64
QUEUE = 40  # packets in flight at most
TICK_MS = 100


def board_chunks(free, chunk_size=CHUNK_SIZE):
    """CHUNKS, or where the pool would take more than half of free bytes (the
    free GC heap; None: no limit) the most that do, a multiple of 32, at least 32."""
    if free is None:
        return CHUNKS
    n = (free // 2 - chunk_size + 1) * 4 // (4 * chunk_size + 1)  # chunks, bitmap, alignment
    return max(32, min(CHUNKS, n - n % 32))


def make_pool(chunks=None, chunk_size=CHUNK_SIZE, fast=True):
    """The demo's pool of chunks chunks. By default board_chunks() of the free
    heap, halved (down to 32) while the heap has no free block that large."""
    if chunks is not None:
        return _pool(chunks, chunk_size, fast)
    gc.collect()
    chunks = board_chunks(gc.mem_free() if hasattr(gc, "mem_free") else None, chunk_size)
    while True:
        try:
            return _pool(chunks, chunk_size, fast)
        except MemoryError:
            if chunks <= 32:
                raise
            chunks = max(32, chunks // 64 * 32)


def _pool(chunks, chunk_size, fast):
    return chunkalloc.ChunkAllocator(chunkalloc.heap(chunks, chunk_size),
                                     chunkalloc.heap_bitmap(chunks), chunk_size, fast)


class Pipeline:
    """The workload's state, all preallocated: nothing grows while it runs."""

    def __init__(self, pool):
        self.pool = pool
        self.offsets = [0] * QUEUE  # a ring of packets in flight
        self.sizes = [0] * QUEUE
        self.head = 0  # oldest packet
        self.count = 0
        self.rng = 0xACE1
        # counters: received, dropped, sent, grown in place, moved, trimmed, peak chunks
        self.received = self.dropped = self.sent = 0
        self.grown = self.moved = self.trimmed = self.peak = 0

    def random(self, n):
        # xorshift16: small ints only, so it allocates nothing on any port
        x = self.rng
        x ^= (x << 7) & 0xFFFF
        x ^= x >> 9
        x ^= (x << 8) & 0xFFFF
        self.rng = x
        return x % n

    def stamp(self, offset, size):
        heap = self.pool.heap
        heap[offset] = size & 0xFF
        heap[offset + size - 1] = (size >> 8) & 0xFF

    def intact(self, offset, size):
        heap = self.pool.heap
        return heap[offset] == size & 0xFF and heap[offset + size - 1] == (size >> 8) & 0xFF

    def send_oldest(self):
        slot = self.head
        offset = self.offsets[slot]
        if not self.intact(offset, self.sizes[slot]):
            raise RuntimeError("demo: packet corrupted")
        self.pool.free(offset)
        self.head = (slot + 1) % QUEUE
        self.count -= 1
        self.sent += 1

    def step(self):
        pool = self.pool
        if self.count == QUEUE or (self.count and pool.used * 8 > pool.chunks * 7):
            self.send_oldest()
        size = 16 + self.random(1000)
        align = 1 << self.random(5)  # up to 16: DMA descriptors like it aligned
        offset = pool.try_alloc(size, align)
        self.received += 1
        if offset < 0:
            self.dropped += 1
            return
        self.stamp(offset, size)
        choice = self.random(8)
        if choice == 0:  # a fragment arrives: grow
            new_size = size + 32 + self.random(400)
            capacity = pool.size_of(offset)
            try:
                moved = pool.realloc(offset, new_size, align)
            except MemoryError:  # allocates only when the heap is unlocked
                moved = -1
            if moved >= 0:
                if moved == offset and new_size > capacity:
                    self.grown += 1
                elif moved != offset:
                    self.moved += 1
                offset = moved
                size = new_size
                self.stamp(offset, size)
        elif choice == 1 and size > 64:  # header stripped: trim
            size = size // 2
            offset = pool.realloc(offset, size, align)
            self.stamp(offset, size)
            self.trimmed += 1
        slot = (self.head + self.count) % QUEUE
        self.offsets[slot] = offset
        self.sizes[slot] = size
        self.count += 1
        if pool.used > self.peak:
            self.peak = pool.used


def run(pool, seconds, tick=None):
    """Run the pipeline on pool for seconds with the heap locked; returns it.

    tick(pool), if given, is called about every 100 ms with the heap unlocked."""
    p = Pipeline(pool)
    limit = int(seconds * 1000)
    start = last = ticks_ms()
    heap_lock()
    try:
        while True:
            now = ticks_ms()
            if ticks_diff(now, start) >= limit:
                break
            if tick is not None and ticks_diff(now, last) >= TICK_MS:
                heap_unlock()
                tick(pool)
                heap_lock()
                last = now
            for _ in range(64):
                p.step()
    finally:
        heap_unlock()
    while p.count:
        p.send_oldest()
    return p


def main(seconds=3):
    pool = make_pool()
    print("chunkalloc demo: %d chunks of %d B, %s path, heap locked for %s s"
          % (pool.chunks, pool.chunk_size, pool.kernel, seconds))
    shown = []

    def tick(pool):
        if not shown and pool.usage() > 50:
            shown.append(True)
            print("heap map mid-run (%d%% used):" % pool.usage())
            chunkalloc_map.show(pool)

    p = run(pool, seconds, tick)
    pool.check()
    ops = p.received + p.sent + p.grown + p.moved + p.trimmed
    print("packets: %d received, %d dropped (pool full), %d sent"
          % (p.received, p.dropped, p.sent))
    print("realloc: %d grown in place, %d moved, %d trimmed in place"
          % (p.grown, p.moved, p.trimmed))
    print("%d pool operations in %s s, peak %d of %d chunks, 0 bytes from the GC heap"
          % (ops, seconds, p.peak, pool.chunks))
    print("after: %s, check() ok" % pool.stats())
    return p
