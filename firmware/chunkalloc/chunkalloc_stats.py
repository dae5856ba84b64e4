# ChunkAllocator.gaps() and stats(): a pool's free runs and its metrics. No
# hot path needs them, so they live here and load on first use: a pool that
# never asks costs none of this module's RAM.


def gaps(pool):
    """Yield (start chunk, length) of every run of free chunks of pool."""
    next_bit = pool._kernel.next_bit
    bits = pool._bits
    nwords = pool._nwords  # the bitmap by its own geometry, whatever the state says
    pos = 0
    while True:
        s = next_bit(bits, nwords, pos, 0)
        if s >= pool.chunks:
            return
        pos = next_bit(bits, nwords, s, 1)
        yield s, pos - s


def stats(pool):
    """A dict of counters and fragmentation metrics, in chunks.

    fragmentation is umm_malloc's: 100 - 100 * sqrt(sum(f*f)) / sum(f)
    over free runs f; 0 when all free memory is one run."""
    largest = runs = squares = 0
    for _, n in gaps(pool):
        runs += 1
        squares += n * n
        largest = max(largest, n)
    free = pool.chunks - pool.used
    frag = 100.0 - 100.0 * squares ** 0.5 / free if free else 0.0
    return {
        "chunks": pool.chunks, "chunk_size": pool.chunk_size,
        "used": pool.used, "free": free, "allocations": pool.allocations,
        "largest_free": largest, "free_runs": runs, "fragmentation": frag,
    }
