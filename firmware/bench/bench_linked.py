# A linked-list first-fit allocator: the benchmark's stand-in for the
# linked-list-allocator crate the seed compared itself with, in Python.
#
# The heap is an array of 32-bit words; offsets are in bytes, multiples of 8.
# Free memory is a list of holes sorted by address; each hole keeps its size
# and the offset of the next hole (-1: none) in its own first two words:
#
#     hole    [ size | next | ...free... ]
#     block   [ end  | -    | user data ............ ]   end: offset after it
#                            ^ the offset handed out
#
# alloc walks the holes and takes the first that fits (address-aligned);
# free walks to the freed block's place and merges it with its neighbours.
# Both are O(holes), as in the crate. The 8-byte header lets free work
# without the size, like chunkalloc. Same interface as ChunkAllocator's
# try_alloc/free/realloc (realloc raises MemoryError when there is no room). Nothing
# here allocates on the GC heap: ints stay small and loops are while loops.

from array import array

import chunkalloc_pure

_HEADER = 8


class LinkedListAllocator:
    def __init__(self, nbytes):
        self.nbytes = nbytes & ~7
        self.mem = array("i", range(self.nbytes >> 2))  # no temporary bytes
        self.base = chunkalloc_pure.address_of(self.mem) & 0x3FFFFFFF
        self.head = 0
        self.mem[0] = self.nbytes
        self.mem[1] = -1

    def _link(self, prev, h):
        if prev < 0:
            self.head = h
        else:
            self.mem[(prev >> 2) + 1] = h

    def try_alloc(self, size, align=1):
        mem = self.mem
        need = (size + 7) & ~7
        mask = (align if align > 8 else 8) - 1
        base = self.base
        prev = -1
        h = self.head
        while h >= 0:
            w = h >> 2
            hend = h + mem[w]
            user = ((base + h + _HEADER + mask) & ~mask) - base
            end = user + need
            if end <= hend:
                nxt = mem[w + 1]
                if end < hend:  # the back of the hole stays a hole
                    mem[end >> 2] = hend - end
                    mem[(end >> 2) + 1] = nxt
                    nxt = end
                start = user - _HEADER
                if start > h:  # so does the front
                    mem[w] = start - h
                    mem[w + 1] = nxt
                else:
                    self._link(prev, nxt)
                mem[start >> 2] = end
                return user
            prev = h
            h = mem[w + 1]
        return -1

    def _release(self, start, end):
        """Put [start, end) back on the list, merged with its neighbours."""
        mem = self.mem
        prev = -1
        h = self.head
        while 0 <= h < start:
            prev = h
            h = mem[(h >> 2) + 1]
        if h == end:  # merge with the next hole
            end += mem[h >> 2]
            h = mem[(h >> 2) + 1]
        if prev >= 0 and prev + mem[prev >> 2] == start:  # and the previous one
            mem[prev >> 2] = end - prev
            mem[(prev >> 2) + 1] = h
            return
        mem[start >> 2] = end - start
        mem[(start >> 2) + 1] = h
        self._link(prev, start)

    def free(self, user):
        start = user - _HEADER
        self._release(start, self.mem[start >> 2])

    def realloc(self, user, new_size, align=1):
        mem = self.mem
        start = user - _HEADER
        end = mem[start >> 2]
        new_end = user + ((new_size + 7) & ~7)
        if not (self.base + user) & (align - 1):
            if new_end <= end:  # shrink: the tail goes back
                if new_end < end:
                    mem[start >> 2] = new_end
                    self._release(new_end, end)
                return user
            prev = -1
            h = self.head
            while 0 <= h < end:
                prev = h
                h = mem[(h >> 2) + 1]
            if h == end and new_end <= h + mem[h >> 2]:  # grow into the next hole
                hend = h + mem[h >> 2]
                nxt = mem[(h >> 2) + 1]
                if new_end < hend:
                    mem[new_end >> 2] = hend - new_end
                    mem[(new_end >> 2) + 1] = nxt
                    nxt = new_end
                self._link(prev, nxt)
                mem[start >> 2] = new_end
                return user
        moved = self.try_alloc(new_size, align)
        if moved < 0:
            raise MemoryError("linked list: no room to move")
        n = (min(end, new_end) - user) >> 2
        d = moved >> 2
        s = user >> 2
        j = 0
        while j < n:
            mem[d + j] = mem[s + j]
            j += 1
        self._release(start, end)
        return moved
