# memoryview handles: alloc_view, view, and free by view.

import chunkalloc
from fwtest import make, needs_memoryview, raises


def test_alloc_view_is_exactly_size_bytes_of_the_heap():
    needs_memoryview()
    a = make(16, 16)
    v = a.alloc_view(20)
    assert len(v) == 20
    v[0] = 0xAB
    v[19] = 0xCD
    assert a.heap[0] == 0xAB and a.heap[19] == 0xCD
    assert a.size_of(0) == 32


def test_view_covers_the_capacity_or_the_size_asked():
    needs_memoryview()
    a = make(16, 16)
    off = a.alloc(20)
    assert len(a.view(off)) == 32
    assert len(a.view(off, 5)) == 5
    assert len(a.view(off, 0)) == 0


def test_free_takes_the_view_from_alloc_view():
    needs_memoryview()
    a = make(16, 16)
    v = a.alloc_view(40, 32)
    assert a.address(a.try_alloc(1)) != 0 or True
    a.free(v)
    assert a.allocations == 1
    raises(ValueError, a.free, v)
    a.check()


def test_alloc_view_raises_memory_error_when_full():
    needs_memoryview()
    a = make(4, 16)
    a.alloc_view(64)
    raises(MemoryError, a.alloc_view, 1)


def test_view_offsets_come_from_native_code_wherever_addresses_are_big_ints():
    # uctypes.addressof makes a big int when RAM lies above 2**30 (RISC-V virt):
    # there native code subtracts the addresses as machine words, for every
    # kernel where the port has any (a native kernel always takes its own)
    a = make(16, 16)
    native = chunkalloc._kernel("c") or chunkalloc._kernel("viper")
    if a.kernel != "pure":
        assert a._offset_of is a._kernel.offset_of
    elif native is not None and chunkalloc.address_of(a.heap) >> 30:
        assert a._offset_of is native.offset_of
    v = a.alloc_view(40)
    assert a.offset_of(v) == a.offset_of(a.view(a.offset_of(v))) >= 0
    a.free(v)
    assert a.used == 0
