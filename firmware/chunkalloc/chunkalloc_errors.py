# Why chunkalloc refuses: the exceptions it raises for bad input, with their
# messages. chunkalloc tests its arguments itself and comes here only to
# refuse (each function returns the exception to raise), so a program that
# passes good ones never loads this module, nor the RAM of its messages. The
# refusals a hot path can meet under a locked heap with a message that needs
# no formatting (a TypeError for a handle, size or align) stay in chunkalloc:
# there this module cannot load. No room is a MemoryError there all the same.


def chunks(chunks):
    """heap_bitmap(chunks): chunks is no int >= 1."""
    if not isinstance(chunks, int):
        return TypeError("chunks must be an int")
    return ValueError("chunks must be >= 1, got %d" % chunks)


def geometry(heap_len, chunk_size):
    """heap() or ChunkAllocator(): chunk_size is no power of two, or heap_len no
    positive multiple of it."""
    if not isinstance(chunk_size, int):
        return TypeError("chunk_size must be an int")
    if chunk_size < 1 or chunk_size & (chunk_size - 1):
        return ValueError("chunk_size must be a power of two, got %d" % chunk_size)
    return ValueError("heap length %d is not a positive multiple of chunk_size %d"
                      % (heap_len, chunk_size))


def bitmap(heap_len, bitmap, chunks, need):
    """ChunkAllocator(): no bitmap of need bytes, or a heap too large."""
    if not isinstance(bitmap, bytearray):
        return TypeError("bitmap must be a bytearray (see heap_bitmap())")
    if heap_len > 0x3FFFFFFF:
        return ValueError("heap of %d bytes: at most 2**30 - 1" % heap_len)
    return ValueError("bitmap of %d bytes too small for %d chunks: need %d"
                      % (len(bitmap), chunks, need))


def kernel(fast, available):
    """ChunkAllocator(fast=NAME): no such kernel here."""
    return ValueError("kernel %r not available here: choose from %s" % (fast, available))


def size_align(size, align):
    """An int size below 1, or an int align that is no power of two up to 2**29."""
    if size < 1:
        return ValueError("size must be >= 1, got %d" % size)
    return ValueError("align must be a power of two up to 2**29, got %d" % align)


def no_room(size, align, why="for"):
    """alloc() or realloc() found no room (under a locked heap this module cannot
    load: a MemoryError all the same, as the message cannot be formatted there)."""
    return MemoryError("chunkalloc: no room %s %d bytes aligned to %d" % (why, size, align))


def not_live(offset):
    return ValueError("%d is not the offset of a live allocation" % offset)


def view_size(size, capacity):
    """view(offset, size): size is no int in 0..capacity."""
    if not isinstance(size, int):
        return TypeError("size must be an int or None")
    return ValueError("size %d outside the allocation's 0..%d bytes" % (size, capacity))


def no_memoryview(instead):
    return TypeError("this port has no memoryview; use %s" % instead)


def chunk(i, chunks):
    return ValueError("chunk %d outside 0..%d" % (i, chunks - 1))


def inconsistent(pool, j, used=0, heads=0):
    """check(): what is wrong at bit j of the used row, or (j past it) with the
    counters, which say used chunks in heads runs."""
    total = pool._nwords << 5
    if j >= total:
        return RuntimeError("chunkalloc: counters say %d chunks in %d runs, bitmap %d in %d"
                            % (pool.used, pool.allocations, used, heads))
    if j >= pool.chunks:
        return RuntimeError("chunkalloc: padding bit %d cleared" % j)
    h = total + j
    if (pool._bits[h >> 3] >> (h & 7)) & 1:
        return RuntimeError("chunkalloc: chunk %d is a head but free" % j)
    return RuntimeError("chunkalloc: chunk %d is used but has no head" % j)


# the slots of ChunkAllocator._state, by index (chunkalloc._NWORDS ...)
SLOTS = ("nwords", "shift", "base", "hint", "window", "used", "allocations", "chunks")


def corrupted(state, code):
    """A kernel's answer code <= chunkalloc._CORRUPT (-3): the slot -3 - code of
    state holds what no allocator writes."""
    slot = -3 - code
    name = SLOTS[slot] if 0 <= slot < len(SLOTS) else "?"
    return RuntimeError("chunkalloc: private state corrupted: %s = %d (state %s)"
                        % (name, state[slot] if 0 <= slot < len(state) else 0, list(state)))


def corrupted_geometry(pool):
    """check(): the first slot of pool's state that disagrees with pool's geometry
    or lies outside its range."""
    state = pool._state
    slot = (0 if state[0] != pool._nwords else 1 if state[1] != pool._shift
            else 7 if state[7] != pool.chunks else 3 if not 0 <= state[3] < pool.chunks
            else 2)
    return corrupted(state, -3 - slot)


def heap_changed(pool):
    """Before Python code writes heap bytes: the state's geometry is not pool's,
    or the heap no longer holds all chunks (Python can shrink a bytearray)."""
    state = pool._state
    if state[1] != pool._shift or state[7] != pool.chunks:
        return corrupted(state, -3 - (1 if state[1] != pool._shift else 7))
    return RuntimeError("chunkalloc: the heap was resized under the allocator: "
                        "%d bytes, %d chunks of %d needed"
                        % (len(pool.heap), pool.chunks, pool.chunk_size))


def heap_buffer(itemsize):
    """ChunkAllocator(heap): no buffer (itemsize None), items of itemsize bytes
    (len() would count items, the kernels count bytes), or read-only (itemsize 1)."""
    if itemsize is None:
        return TypeError("heap must be a buffer (a bytearray, or a memoryview of one)")
    if itemsize != 1:
        return TypeError("heap must be a buffer of bytes: its items are %d bytes "
                         "(len() would count items, the kernels count bytes)" % itemsize)
    return TypeError("heap must be writable: a bytearray, or a memoryview of one")
