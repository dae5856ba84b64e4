"""The static-pool pattern: a pool built once, at import, with no init call.
Any module that does `from chunkpool import POOL` shares it.

The interface as a stub (the code is chunkpool.py beside it).
"""

from chunkalloc import ChunkAllocator

CHUNKS: int
"""Chunks in POOL."""
CHUNK_SIZE: int
"""Bytes per chunk of POOL."""
POOL: ChunkAllocator
"""The shared pool: CHUNKS chunks of CHUNK_SIZE bytes."""
