# Making a pool and its buffers: what chunkalloc needs once per pool, never on
# a pool's calls. chunkalloc loads this module for each such call and lets it
# go again (sys.modules forgets it), so its RAM is back on the GC heap once the
# pool is made: a program holds the interface and its pool's kernel, not the
# code that made them.

import sys
from array import array

import chunkalloc

try:
    from micropython import const
except ImportError:  # CPython: a plain int
    const = int

_BEST_FIT_GAPS = const(8)  # fitting gaps compared with the first fit (bench: 90 % at 8)
_ADDRESS_BITS = const(0x3FFFFFFF)  # addresses kept mod 2**30: a small int on every port


# What every kernel answers on a tiny known case (the pure kernel's answers): see
# trusted()
_KNOWN = ((0, 128, -1, 7, 1),
          b"\x7f\x00\x00\x00\x00\xff\xff\xff\x01\x00\x00\x00\x00\xff\xff\xff",
          (2, 4, 0, 9, 8, 7, 1, 40, 0))


def trusted(name):
    """chunkalloc._kernel(name), unless it is native code that gets a tiny known
    case wrong. Native code can be built right and still run wrong: frozen into
    an armv6m firmware, viper code that loads a PC-relative literal reads the
    wrong word where the firmware places it on a 2 mod 4 address (MicroPython
    1.28; docs/upstream-armv6m-frozen-viper.md). Such a kernel is not trusted:
    the next one serves."""
    k = chunkalloc._kernel(name)
    if k is None or name == "pure":
        return k
    try:
        bits = bytearray(16)  # 40 chunks of 16 B: two words a row, with padding
        state = array("i", [2, 4, 0, 0, 8, 0, 0, 40, 0])
        k.fill(bits, 40, 24, 1)
        k.fill(bits, 104, 24, 1)
        a = k.alloc(bits, state, 100, 1)
        b = k.alloc(bits, state, 16, 128)
        seen = ((a, b, k.resize(bits, state, a, 300, 1), k.run_end(bits, 2, 0),
                 k.release(bits, state, b)), bytes(bits), tuple(state))
    except Exception:  # noqa: BLE001 - whatever a broken kernel raises, it is not used
        seen = None
    if seen == _KNOWN:
        return k
    chunkalloc._kernels[name] = None
    sys.modules.pop("chunkalloc_" + name, None)
    return None


def heap(chunks, chunk_size):
    size = chunks * chunk_size
    check_geometry(size, chunk_size)
    memoryview = chunkalloc._memoryview
    if memoryview is None:
        return bytearray(size)
    raw = bytearray(size + chunk_size - 1)
    skip = (-chunkalloc.address_of(raw)) & (chunk_size - 1)
    return memoryview(raw)[skip:skip + size]


def heap_bitmap(chunks):
    if not isinstance(chunks, int) or chunks < 1:
        raise chunkalloc._errors().chunks(chunks)
    return bytearray((chunks + 31) >> 5 << 3)


def check_geometry(heap_len, chunk_size):
    if (not isinstance(chunk_size, int) or chunk_size < 1 or chunk_size & (chunk_size - 1)
            or heap_len < chunk_size or heap_len % chunk_size):
        raise chunkalloc._errors().geometry(heap_len, chunk_size)


def check_heap_buffer(heap):
    # heap must be a writable buffer of bytes: len() must count the bytes the
    # kernels address
    memoryview = chunkalloc._memoryview
    if memoryview is None:
        return
    try:
        view = memoryview(heap)
    except TypeError:
        raise chunkalloc._errors().heap_buffer(None)
    size = getattr(view, "itemsize", None)  # CPython, most MicroPython ports
    if size is None and len(view) >= 2:
        address_of = chunkalloc.address_of
        size = address_of(view[1:]) - address_of(view)
        if size <= 0:  # this port cannot tell addresses
            size = 1
    if size is not None and size != 1:
        raise chunkalloc._errors().heap_buffer(size)
    try:
        view[0:0] = b""  # TypeError where it is read-only, on both runtimes
    except TypeError:
        raise chunkalloc._errors().heap_buffer(1)


def init(self, heap, bitmap, chunk_size, fast, best_fit):
    """ChunkAllocator.__init__."""
    check_heap_buffer(heap)
    check_geometry(len(heap), chunk_size)
    chunks = len(heap) // chunk_size
    nwords = (chunks + 31) >> 5
    if (not isinstance(bitmap, bytearray) or len(heap) > _ADDRESS_BITS
            or len(bitmap) < nwords << 3):
        raise chunkalloc._errors().bitmap(len(heap), bitmap, chunks, nwords << 3)
    self.heap = heap  # the buffer itself: index it with offsets
    self._bits = bitmap
    all_names = chunkalloc._NAMES
    if isinstance(fast, str):  # a kernel by name
        names = (fast,) if fast in all_names else ()
    else:  # True: the best one here; False: the pure one
        names = all_names if fast else ("pure",)
    kernel = module = None
    for kernel in names:
        module = trusted(kernel)
        if module:
            break
    if not module:
        raise chunkalloc._errors().kernel(fast, kernels())
    self.kernel = kernel  # "c", "viper" or "pure"
    self._kernel = module
    # the hot path's kernel entries, looked up once (one native call each)
    self._alloc = module.alloc
    self._release = module.release
    self._resize = module.resize
    self.chunk_size = chunk_size
    self.chunks = chunks
    shift = 0
    while 1 << shift < chunk_size:
        shift += 1
    self._shift = shift
    self._nwords = nwords  # Python code there reads the bitmap by its own geometry
    # All that alloc and free read or change, in one array of ints that a
    # single kernel call updates (slots _NWORDS .. _BASE_HI of chunkalloc)
    address = chunkalloc.address_of(heap)
    self._state = array("i", [nwords, shift, address & _ADDRESS_BITS,
                              0, _BEST_FIT_GAPS if best_fit else 0, 0, 0, chunks,
                              address >> 30])
    # A view's offset is its address minus the heap's. The pure kernel takes
    # both with uctypes.addressof, a big int (allocated) where RAM lies past
    # 2**30 on a 32-bit port (RISC-V virt: 0x80000000); native code subtracts
    # the machine addresses and returns the small difference. So there a pure
    # pool takes a view's offset from native code where the port has any:
    # the decisions stay the kernel's own.
    offsets = module
    if kernel == "pure" and address >> 30:
        offsets = trusted("c") or trusted("viper") or module
    self._offset_of = offsets.offset_of
    if kernel == "c":  # each hot method one native call, no bytecode frame
        op = module.op
        cls = chunkalloc.ChunkAllocator
        for kind, name in enumerate(("try_alloc", "alloc", "free", "realloc")):
            setattr(self, name, op(kind, bitmap, self._state, heap, self, getattr(cls, name)))
    fill = module.fill
    total = nwords << 5
    fill(bitmap, 0, total << 1, 0)  # bytes past both rows are not ours: left alone
    fill(bitmap, chunks, total - chunks, 1)  # padding: used ...
    fill(bitmap, total + chunks, total - chunks, 1)  # ... and head


def attribute(name):
    """chunkalloc.KERNELS and chunkalloc.LockedChunkAllocator (chunkalloc's
    module __getattr__), kept there once made."""
    if name == "KERNELS":
        value = kernels()
    elif name == "LockedChunkAllocator":
        value = chunkalloc._load("chunkalloc_locked").LockedChunkAllocator
    else:
        raise AttributeError(name)
    setattr(chunkalloc, name, value)
    return value


def kernels():
    """chunkalloc.KERNELS: every kernel loaded to see whether it can; those no
    pool holds let go again."""
    loaded = chunkalloc._kernels
    found = []
    for kernel in chunkalloc._NAMES:
        module = "chunkalloc_" + kernel
        fresh = kernel not in loaded and module not in sys.modules
        if trusted(kernel):
            found.append(kernel)
            if fresh:
                del loaded[kernel]
                sys.modules.pop(module, None)  # a module compiled into the firmware is not there
    return tuple(found)
