# chunkalloc.LockedChunkAllocator: a pool guarded for threads and interrupt
# handlers. chunkalloc loads this module on the first read of that name, so a
# board that guards no pool costs none of its RAM.

import chunkalloc_extras as _extras  # ChunkAllocator's members that no hot path needs
from chunkalloc import ChunkAllocator


class LockedChunkAllocator:
    """A ChunkAllocator guarded for _thread threads and interrupt handlers.

    Each call disables interrupts (machine.disable_irq, where the port has it)
    and holds a _thread lock (where the port has threads); both are released
    before it returns or raises. Allocates nothing either."""

    def __init__(self, allocator):
        self.allocator = allocator
        try:
            import _thread
            self._lock = _thread.allocate_lock()
        except ImportError:
            self._lock = None
        try:
            import machine
            self._irq_off = machine.disable_irq  # pyright: ignore[reportAttributeAccessIssue]  # not on unix: caught below
            self._irq_on = machine.enable_irq  # pyright: ignore[reportAttributeAccessIssue]  # as above
        except (ImportError, AttributeError):
            self._irq_off = self._irq_on = None

    def _enter(self):
        state = self._irq_off() if self._irq_off else 0
        if self._lock:
            self._lock.acquire()
        return state

    def _exit(self, state):
        if self._lock:
            self._lock.release()
        if self._irq_on:
            self._irq_on(state)

    def _locked(self, fn, a, b=None, c=None, n=1):
        # fn is a plain function (ChunkAllocator.x, _extras.x): no bound method is made
        state = self._enter()
        try:
            if n == 0:
                return fn(self.allocator)
            if n == 1:
                return fn(self.allocator, a)
            if n == 2:
                return fn(self.allocator, a, b)
            return fn(self.allocator, a, b, c)
        finally:
            self._exit(state)

    @property
    def used(self):
        return self.allocator.used

    @property
    def allocations(self):
        return self.allocator.allocations

    @property
    def kernel(self):
        return self.allocator.kernel

    @property
    def fast(self):
        return self.allocator.fast

    def try_alloc(self, size, align=1):
        return self._locked(ChunkAllocator.try_alloc, size, align, n=2)

    def alloc(self, size, align=1):
        return self._locked(ChunkAllocator.alloc, size, align, n=2)

    def alloc_zeroed(self, size, align=1):
        return self._locked(ChunkAllocator.alloc_zeroed, size, align, n=2)

    def alloc_view(self, size, align=1):
        return self._locked(_extras.alloc_view, size, align, n=2)

    def free(self, handle):
        return self._locked(ChunkAllocator.free, handle)

    def realloc(self, offset, new_size, align=1):
        return self._locked(ChunkAllocator.realloc, offset, new_size, align, n=3)

    def size_of(self, offset):
        return self._locked(ChunkAllocator.size_of, offset)

    def view(self, offset, size=None):
        return self._locked(_extras.view, offset, size, n=2)

    def usage(self):
        return self.allocator.usage()

    def stats(self):
        return self._locked(_extras.stats, None, n=0)

    def check(self):
        return self._locked(ChunkAllocator.check, None, n=0)
