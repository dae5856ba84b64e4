# The static-pool pattern: a pool built once, at import, with no init call.
# Any module that does `from chunkpool import POOL` shares it. Size it for
# your board (`chunkalloc build --board NAME` writes one sized for NAME).

import chunkalloc

CHUNKS = 256
CHUNK_SIZE = 64

POOL = chunkalloc.ChunkAllocator(chunkalloc.heap(CHUNKS, CHUNK_SIZE),
                                 chunkalloc.heap_bitmap(CHUNKS), CHUNK_SIZE)
