# A text heap map of a chunkalloc pool, in the style of micropython.mem_info(1),
# and its fragmentation metrics. One character per chunk, 64 to a line, each
# line led by the byte offset of its first chunk in hex:
#
#   chunkalloc-map chunks=512 chunk_size=64 used=300 allocations=21
#   00000: h=====h==h=.....h=======h===...
#          (3 lines all free)
#   07000: .....h===
#   free=212 free_runs=4 largest_free=100 fragmentation=23.5
#   end-map
#
#   .  free chunk      h  head: an allocation starts here      =  tail
#
# Two or more lines in a row that are all free fold into "(N lines all free)",
# as mem_info(1) does. fragmentation is umm_malloc's percentage,
# 100 - 100 * sqrt(sum(f*f)) / sum(f) over free runs f (0: one free run).
# The host (`chunkalloc map`) parses this text and draws it as a picture.
#
# Walking the pool allocates nothing: row() fills a preallocated line buffer and
# measure() fills a preallocated list, both proven under heap_lock() in
# tests/test_map.py; only show()'s printing allocates. Not reentrant (one line
# buffer), so do not call show() from an interrupt handler.

LINE = 64  # chunks per line, as in mem_info(1)
_CHARS = b".h="  # indexed by chunk_kind(): free, head, tail
_line = bytearray(LINE)
_metrics = [0, 0, 0, 0]


def _allocator(pool):
    # a LockedChunkAllocator or a trace Recorder wraps the ChunkAllocator
    return getattr(pool, "allocator", pool)


def row(pool, start, buf):
    """Write the map characters of chunks start.. into buf; return how many
    (fewer than len(buf) on the last line) or -1 if all of them are free."""
    n = pool.chunks - start
    if n > len(buf):
        n = len(buf)
    free = True
    j = 0
    while j < n:
        kind = pool.chunk_kind(start + j)
        buf[j] = _CHARS[kind]
        if kind:
            free = False
        j += 1
    return -1 if free else n


def measure(pool, out):
    """out[0:4] = free chunks, free runs, largest free run, sum of squared
    free run lengths (all in chunks)."""
    free = runs = largest = squares = 0
    length = 0
    i = 0
    while i <= pool.chunks:
        if i < pool.chunks and pool.chunk_kind(i) == 0:
            length += 1
        elif length:
            free += length
            runs += 1
            squares += length * length
            if length > largest:
                largest = length
            length = 0
        i += 1
    out[0] = free
    out[1] = runs
    out[2] = largest
    out[3] = squares


def fragmentation(free, squares):
    """umm_malloc's fragmentation percentage from measure()'s numbers."""
    if not free:
        return 0.0
    return 100.0 - 100.0 * squares ** 0.5 / free


def _full_lines_free(pool, start):
    # whole lines, from start, in which every chunk is free
    n = 0
    while start + LINE <= pool.chunks and row(pool, start, _line) < 0:
        n += 1
        start += LINE
    return n


def show(pool, out=print):
    """Print the heap map and metrics of pool (a ChunkAllocator or a wrapper),
    a line at a time through out."""
    pool = _allocator(pool)
    out("chunkalloc-map chunks=%d chunk_size=%d used=%d allocations=%d"
          % (pool.chunks, pool.chunk_size, pool.used, pool.allocations))
    start = 0
    while start < pool.chunks:
        folded = _full_lines_free(pool, start)
        if folded >= 2:
            out("       (%d lines all free)" % folded)
            start += folded * LINE
            continue
        n = row(pool, start, _line)
        if n < 0:
            n = min(LINE, pool.chunks - start)
        out("%05x: %s" % (start * pool.chunk_size, str(_line[:n], "ascii")))
        start += LINE
    measure(pool, _metrics)
    out("free=%d free_runs=%d largest_free=%d fragmentation=%.1f"
          % (_metrics[0], _metrics[1], _metrics[2],
             fragmentation(_metrics[0], _metrics[3])))
    out("end-map")
