# Freeze chunkalloc into a MicroPython firmware image: in your board's manifest add
#     include("/path/to/chunkalloc/firmware/chunkalloc/manifest.py")
# then build the firmware as usual (make BOARD=... FROZEN_MANIFEST=...). Frozen modules
# cost no heap for their bytecode. `chunkalloc build --board NAME` writes a manifest.py
# with a chunkpool sized for NAME instead of this one's 256 x 64 B pool.
metadata(description="chunkalloc: a fixed-size chunk allocator", version="0.1.0")
module("chunkalloc.py", opt=3)
module("chunkalloc_pure.py", opt=3)
module("chunkalloc_viper.py", opt=3)
module("chunkalloc_viper_scans.py", opt=3)  # viper find and next_bit, loaded on first use
module("chunkalloc_extras.py", opt=3)  # views, stats ...: members loaded on first use
module("chunkalloc_setup.py", opt=3)  # makes a pool, loaded for that only
module("chunkalloc_locked.py", opt=3)  # LockedChunkAllocator, loaded on first use
module("chunkalloc_errors.py", opt=3)  # the messages of refusals, loaded on first use
module("chunkpool.py", opt=3)
module("chunkalloc_map.py", opt=3)  # heap map (optional)
module("chunkalloc_trace.py", opt=3)  # allocation traces (optional)
