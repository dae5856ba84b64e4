# LockedChunkAllocator under _thread: 4 threads allocate, stamp, verify and
# free at once. Overlapping allocations would corrupt another thread's stamp;
# lost updates would show in the counters or in check().

import chunkalloc
from fwtest import LIMITS, make, Skip, Rng

try:
    import _thread
except ImportError:
    _thread = None

try:
    from time import sleep_ms
except ImportError:
    from time import sleep

    def sleep_ms(ms):
        sleep(ms / 1000)

THREADS = 4
ROUNDS = 400


def report(lock, results, item):
    # shared lists are appended under a lock: this port may run threads without a GIL
    with lock:
        results.append(item)


def worker(pool, tid, lock, done, errors):
    rng = Rng(tid + 1)
    mine = []
    try:
        for _ in range(ROUNDS):
            if len(mine) < 6:
                off = pool.try_alloc(1 + rng.below(100), 1 << rng.below(4))
                if off >= 0:
                    n = pool.size_of(off)
                    for j in range(n):
                        pool.allocator.heap[off + j] = tid
                    mine.append((off, n))
            else:
                off, n = mine.pop(rng.below(len(mine)))
                for j in range(n):
                    if pool.allocator.heap[off + j] != tid:
                        report(lock, errors, "thread %d: chunk overwritten" % tid)
                        break
                pool.free(off)
        for off, n in mine:
            pool.free(off)
    except Exception as e:
        report(lock, errors, "thread %d: %r" % (tid, e))
    report(lock, done, tid)


def test_four_threads_share_a_locked_allocator_without_overlap_or_loss():
    if _thread is None:
        raise Skip("this port has no _thread")
    if "_thread" in LIMITS:
        raise Skip(LIMITS["_thread"])
    pool = chunkalloc.LockedChunkAllocator(make(256, 16))
    lock = _thread.allocate_lock()
    done = []
    errors = []
    for tid in range(1, THREADS + 1):
        _thread.start_new_thread(worker, (pool, tid, lock, done, errors))
    for _ in range(3000):
        if len(done) == THREADS:
            break
        sleep_ms(10)
    assert len(done) == THREADS, "threads did not finish"
    assert not errors, errors
    assert pool.used == 0 and pool.allocations == 0
    pool.check()
