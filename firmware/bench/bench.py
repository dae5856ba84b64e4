# The on-target benchmark: one workload against one contender per call,
# printed as one line "BENCH {json}" for the host (chunkalloc bench).
#
#   import bench; bench.run("mcu", "viper", 20000, 1, 262144, "idle")
#
# Workloads (bench_workloads.py): "seed" (the seed's bench.rs, scaled),
# "mcu" (MCU mix, pool held near 75 % full), "realloc" (buffers that grow and
# shrink), "efficiency" (talc's: live requested bytes / heap bytes at the
# first failed request), "pair" (alloc(100) + free on an empty pool, against
# bytearray(100), and against its floor "floor": two calls of a native function
# stored on an instance, round(100, 1) and round(h), which return at once:
# what any one-native-call alloc and free cost at least). Contenders: each
# kernel of chunkalloc.KERNELS by name
# ("c", "viper", "pure"; best-fit on; "fast" names the first), "firstfit"
# (the first kernel, best-fit off), "linked-list" (bench_linked.py) and
# "bytearray" (MicroPython's own heap: bytearray(n), inline, freed by
# dropping the reference).
#
# Two GC scenarios, run separately: "idle" (nothing else live on the GC heap,
# which collects only when it runs out) and "loaded" (the GC heap holds live
# application data, ballast the size of the pool, and collects after every
# pool's worth of allocation, gc.threshold: a board whose free heap is about
# a pool).
#
# Two timings: "each" times every operation on its own (time.ticks_us on
# MicroPython, 1 us resolution; time.perf_counter_ns on CPython) into
# preallocated latency arrays; "total" times the whole loop once and takes off
# the same loop with the operations left out (the harness), for boards, where
# 1 us is 1000 instructions under QEMU's -icount shift=0 and RAM is short.
# Results are in ns. The allocator contenders replay under
# micropython.heap_lock(), which proves their loop allocates nothing, so no GC
# pause can land in it.

import gc
import sys
import time
from array import array

import bench_linked
import bench_workloads
import chunkalloc

try:
    import json
except ImportError:
    import ujson as json

try:
    from micropython import heap_lock, heap_unlock
except ImportError:  # CPython
    def heap_lock():
        pass

    def heap_unlock():
        pass

if hasattr(time, "ticks_us"):
    CLOCK = "time.ticks_us"
    _now = time.ticks_us
    _diff = time.ticks_diff
    _NS = 1000
else:
    CLOCK = "time.perf_counter_ns"
    _now = time.perf_counter_ns

    def _diff(b, a):
        return b - a

    _NS = 1

_SLACK = 50000 // _NS  # 50 us in ticks: two reads in a row differ by less
CHUNK = bench_workloads.CHUNK
POOL = CHUNK * bench_workloads.POOL_CHUNKS
OTHERS = ("firstfit", "linked-list", "bytearray")  # contenders besides the kernels
WORKLOADS = ("seed", "mcu", "realloc", "efficiency", "pair")
SCENARIOS = ("idle", "loaded")
TIMINGS = ("each", "total")
PAIR_SIZE = 100
RESIZE_BUFFER_BYTES = 2048  # one resized buffer per 2 KiB of pool: 128 in 256 KiB
EFFICIENCY_RUNS = 5
CDF_POINTS = ([j / 100 for j in range(100)] + [(990 + j) / 1000 for j in range(1, 10)]
              + [0.9995, 0.9999, 1.0])  # the tail in detail: that is where GC pauses show


def kernels():
    """chunkalloc's kernels on this runtime, best first (chunkalloc.KERNELS where the
    core has it; else viper when the fast path took, and pure)."""
    found = getattr(chunkalloc, "KERNELS", None)
    if found is not None:
        return tuple(found)
    p = chunkalloc.ChunkAllocator(chunkalloc.heap(8, CHUNK), chunkalloc.heap_bitmap(8), CHUNK)
    return ("viper", "pure") if p.fast else ("pure",)


def contenders():
    return kernels() + OTHERS


def kernel_of(a):
    """The name of the kernel allocator a runs (None: not a chunkalloc pool)."""
    if not isinstance(a, chunkalloc.ChunkAllocator):
        return None
    name = getattr(a, "kernel", None)
    if name is None:
        name = "viper" if a.fast else "pure"
    return name


class Floor:
    """The pair's floor: try_alloc(size, 1) and free(h) as native functions stored
    on the instance, each returning its int argument at once (round)."""

    def __init__(self):
        self.try_alloc = round
        self.free = round
        self.realloc = round


FLOOR = "floor"


def make(contender, pool_bytes):
    """The allocator a contender uses (None for bytearray: the GC heap)."""
    if contender == "bytearray":
        return None
    if contender == FLOOR:
        return Floor()
    if contender == "linked-list":
        return bench_linked.LinkedListAllocator(pool_bytes)
    have = kernels()
    kernel = have[0] if contender in ("fast", "firstfit") else contender
    if kernel not in have:
        raise ValueError("unknown contender %r (here: %s)" % (contender, ", ".join(contenders())))
    chunks = pool_bytes // CHUNK
    if hasattr(chunkalloc, "KERNELS"):
        fast = kernel
    else:
        fast = kernel != "pure"
    return chunkalloc.ChunkAllocator(chunkalloc.heap(chunks, CHUNK), chunkalloc.heap_bitmap(chunks),
                                     CHUNK, fast, contender != "firstfit")


# -- the timed loops ------------------------------------------------------------
# Each replays a stream and records one latency per operation in la (alloc or
# realloc) and lf (free), and leaves (allocs timed, frees timed, failures) in
# counts: returning a tuple would allocate.

def _replay(alloc, free, s, la, lf, ring, rsize, counts):
    now = _now
    diff = _diff
    sizes = s.sizes
    aligns = s.aligns
    drops = s.drops
    cap = s.cap
    slots = len(ring)
    first = nxt = live = live_bytes = na = nf = fails = 0
    for i in range(s.steps):
        size = sizes[i]
        d = 7 if drops[i] and live > 10 else 0
        while live and (d or live == slots or (cap and live_bytes + size > cap)):
            h = ring[first]
            t0 = now()
            free(h)
            lf[nf] = diff(now(), t0)
            nf += 1
            live -= 1
            live_bytes -= rsize[first]
            first = first + 1 if first + 1 < slots else 0
            if d:
                d -= 1
        t0 = now()
        h = alloc(size, aligns[i])
        la[na] = diff(now(), t0)
        na += 1
        if h < 0:
            fails += 1
        else:
            ring[nxt] = h
            rsize[nxt] = size
            nxt = nxt + 1 if nxt + 1 < slots else 0
            live += 1
            live_bytes += size
    counts[0] = na
    counts[1] = nf
    counts[2] = fails


def _replay_bytearray(room, s, la, lf, ring, rsize, counts):
    # _replay with bytearray(n) inline; a request that would take the live
    # requested bytes past room (the pool's size) counts as a failure, untimed
    now = _now
    diff = _diff
    sizes = s.sizes
    drops = s.drops
    cap = s.cap
    slots = len(ring)
    first = nxt = live = live_bytes = na = nf = fails = 0
    for i in range(s.steps):
        size = sizes[i]
        d = 7 if drops[i] and live > 10 else 0
        while live and (d or live == slots or (cap and live_bytes + size > cap)):
            t0 = now()
            ring[first] = None
            lf[nf] = diff(now(), t0)
            nf += 1
            live -= 1
            live_bytes -= rsize[first]
            first = first + 1 if first + 1 < slots else 0
            if d:
                d -= 1
        if live_bytes + size > room:
            fails += 1
            continue
        t0 = now()
        h = bytearray(size)
        la[na] = diff(now(), t0)
        na += 1
        ring[nxt] = h
        rsize[nxt] = size
        nxt = nxt + 1 if nxt + 1 < slots else 0
        live += 1
        live_bytes += size
    counts[0] = na
    counts[1] = nf
    counts[2] = fails


def _resize(realloc, r, la, bufs, counts):
    now = _now
    diff = _diff
    which = r.which
    sizes = r.sizes
    fails = 0
    for i in range(r.steps):
        b = which[i]
        try:
            t0 = now()
            h = realloc(bufs[b], sizes[i], 1)
            la[i] = diff(now(), t0)
            bufs[b] = h
        except MemoryError:
            fails += 1
    counts[0] = r.steps
    counts[2] = fails


def _resize_bytearray(r, la, bufs, counts):
    now = _now
    diff = _diff
    which = r.which
    sizes = r.sizes
    for i in range(r.steps):
        b = which[i]
        n = sizes[i]
        t0 = now()
        old = bufs[b]
        if n > len(old):
            new = bytearray(n)
            new[0:len(old)] = old
        else:
            new = old[:n]
        bufs[b] = new
        la[i] = diff(now(), t0)
    counts[0] = r.steps


# The "total" loops: the same replays, untimed inside (the caller times the
# whole loop), and the harness: the bookkeeping of _replay with the two
# operations left out, timed and taken off.

def _replay_total(alloc, free, s, ring, rsize, counts):
    sizes = s.sizes
    aligns = s.aligns
    drops = s.drops
    cap = s.cap
    slots = len(ring)
    first = nxt = live = live_bytes = na = nf = fails = 0
    for i in range(s.steps):
        size = sizes[i]
        d = 7 if drops[i] and live > 10 else 0
        while live and (d or live == slots or (cap and live_bytes + size > cap)):
            free(ring[first])
            nf += 1
            live -= 1
            live_bytes -= rsize[first]
            first = first + 1 if first + 1 < slots else 0
            if d:
                d -= 1
        h = alloc(size, aligns[i])
        na += 1
        if h < 0:
            fails += 1
        else:
            ring[nxt] = h
            rsize[nxt] = size
            nxt = nxt + 1 if nxt + 1 < slots else 0
            live += 1
            live_bytes += size
    counts[0] = na
    counts[1] = nf
    counts[2] = fails


def _replay_bytearray_total(room, s, ring, rsize, counts):
    sizes = s.sizes
    drops = s.drops
    cap = s.cap
    slots = len(ring)
    first = nxt = live = live_bytes = na = nf = fails = 0
    for i in range(s.steps):
        size = sizes[i]
        d = 7 if drops[i] and live > 10 else 0
        while live and (d or live == slots or (cap and live_bytes + size > cap)):
            ring[first] = None
            nf += 1
            live -= 1
            live_bytes -= rsize[first]
            first = first + 1 if first + 1 < slots else 0
            if d:
                d -= 1
        if live_bytes + size > room:
            fails += 1
            continue
        h = bytearray(size)
        na += 1
        ring[nxt] = h
        rsize[nxt] = size
        nxt = nxt + 1 if nxt + 1 < slots else 0
        live += 1
        live_bytes += size
    counts[0] = na
    counts[1] = nf
    counts[2] = fails


def _replay_harness(s, ring, rsize, counts):
    sizes = s.sizes
    aligns = s.aligns
    drops = s.drops
    cap = s.cap
    slots = len(ring)
    first = nxt = live = live_bytes = na = nf = fails = 0
    for i in range(s.steps):
        size = sizes[i]
        d = 7 if drops[i] and live > 10 else 0
        while live and (d or live == slots or (cap and live_bytes + size > cap)):
            nf += 1
            live -= 1
            live_bytes -= rsize[first]
            first = first + 1 if first + 1 < slots else 0
            if d:
                d -= 1
        h = aligns[i]
        na += 1
        if h < 0:
            fails += 1
        else:
            ring[nxt] = h
            rsize[nxt] = size
            nxt = nxt + 1 if nxt + 1 < slots else 0
            live += 1
            live_bytes += size
    counts[0] = na
    counts[1] = nf
    counts[2] = fails


def _pairs(alloc, free, n, size):
    for _ in range(n):
        free(alloc(size, 1))


def _pairs_bytearray(n, size):
    for _ in range(n):
        b = bytearray(size)
        b = None


def _pairs_harness(n, size):
    for _ in range(n):
        b = None


def _stamp():
    """ticks now, read twice until two reads agree: the qemu port's Arm ticks_us
    reads its millisecond count and SysTick apart, and a tick between them
    makes one read 1 ms off."""
    while True:
        a = _now()
        b = _now()
        if 0 <= _diff(b, a) < _SLACK:
            return b


# -- measuring --------------------------------------------------------------------

def timer_ns(n=500, rounds=9):
    """Mean cost of an empty timed operation, in ns (subtracted from totals): the
    median of rounds, so that a pause of the process in one round does not count."""
    now = _now
    diff = _diff
    means = []
    for _ in range(rounds):
        total = 0
        for _ in range(n):
            t0 = now()
            total += diff(now(), t0)
        means.append(total * _NS / n)
    means.sort()
    return means[rounds // 2]


def summary(lat, n, timer):
    """Latency statistics of lat[:n] in ns; total has the timer cost taken off."""
    if n == 0:
        return {"n": 0}
    s = sorted(lat[j] for j in range(n))
    total = 0
    for v in s:
        total += v
    last = n - 1

    def at(p):
        return s[min(last, int(p * n))] * _NS

    return {
        "n": n, "median": s[n // 2] * _NS, "mean": total * _NS / n,
        "p99": at(0.99), "p999": at(0.999), "max": s[last] * _NS,
        "total": max(0.0, total * _NS - timer * n),
        "cdf": [[p, at(p)] for p in CDF_POINTS],
    }


def _ballast(nbytes):
    """Live application data on the GC heap: small objects that the GC traces. The
    list is made whole first: grown an item at a time, its old copies are garbage
    that a board's full heap may not have room for beside it."""
    gc.collect()
    junk = [None] * (nbytes // 64)
    for i in range(len(junk)):
        junk[i] = bytearray(32)
    return junk


def _gc_setup(threshold):
    gc.collect()
    if hasattr(gc, "threshold"):
        gc.threshold(threshold)


def _gc_restore():
    if hasattr(gc, "threshold"):
        gc.threshold(-1)
    gc.collect()


def _stream(workload, steps, seed, pool_bytes):
    if workload == "realloc":
        return bench_workloads.Resizes(steps, seed, pool_bytes // RESIZE_BUFFER_BYTES or 1)
    if workload == "seed":
        return bench_workloads.seed_stream(steps, seed, pool_bytes)
    if workload == "mcu":
        return bench_workloads.mcu_stream(steps, seed, pool_bytes)
    if workload == "pair":
        return None
    raise ValueError("unknown workload %r" % workload)


def timed(workload, contender, steps, seed, pool_bytes, scenario="loaded", timing="each"):
    """Replay workload's stream on contender in a GC scenario; a dict of results."""
    if scenario not in SCENARIOS:
        raise ValueError("unknown scenario %r (%s)" % (scenario, ", ".join(SCENARIOS)))
    if timing not in TIMINGS:
        raise ValueError("unknown timing %r (%s)" % (timing, ", ".join(TIMINGS)))
    if workload in ("pair", "realloc") and timing != ("total" if workload == "pair" else "each"):
        raise ValueError("workload %r is timed %s" % (workload, "in total" if workload == "pair"
                                                       else "op by op"))
    if contender == FLOOR and workload != "pair":
        raise ValueError("the floor is the pair's only")
    gc.collect()
    a = make(contender, pool_bytes)  # first: the largest block, while the heap is in one piece
    r = _stream(workload, steps, seed, pool_bytes)
    each = timing == "each"
    la = bench_workloads.blank("I", steps) if each else None
    lf = bench_workloads.blank("I", steps) if each else None
    counts = array("i", [0, 0, 0])
    timer = timer_ns() if each else 0
    ring = rsize = bufs = None
    ballast = _ballast(pool_bytes) if scenario == "loaded" else None
    if workload == "realloc":
        if a is None:
            bufs = [bytearray(n) for n in r.start]
        else:
            bufs = [a.try_alloc(n, 1) for n in r.start]
    elif workload != "pair":
        # ring slots: live allocations, at most one per 16 B (the smallest request) of the
        # pool; under a cap, twice the peak of a replay without failures (a full ring
        # frees its oldest first, which no stream here comes near)
        slots = pool_bytes // 16 + 1
        if r.cap:
            slots = min(slots, 2 * r.peak() + 64)
        ring = [None] * slots
        rsize = bench_workloads.blank("H", slots)
    harness = 0
    if not each:  # the loop without the operations, timed first
        t0 = _stamp()
        if workload == "pair":
            _pairs_harness(steps, PAIR_SIZE)
        else:
            _replay_harness(r, ring, rsize, counts)
        harness = _diff(_stamp(), t0) * _NS
    _gc_setup(pool_bytes if scenario == "loaded" else -1)
    gc_live = gc.mem_alloc() if hasattr(gc, "mem_alloc") else None
    t0 = _stamp()
    if a is None:
        if workload == "pair":
            _pairs_bytearray(steps, PAIR_SIZE)
        elif workload == "realloc":
            _resize_bytearray(r, la, bufs, counts)
        elif each:
            _replay_bytearray(pool_bytes, r, la, lf, ring, rsize, counts)
        else:
            _replay_bytearray_total(pool_bytes, r, ring, rsize, counts)
    else:
        alloc, free, realloc = a.try_alloc, a.free, a.realloc  # bound before the lock
        heap_lock()
        try:
            if workload == "pair":
                _pairs(alloc, free, steps, PAIR_SIZE)
            elif workload == "realloc":
                _resize(realloc, r, la, bufs, counts)
            elif each:
                _replay(alloc, free, r, la, lf, ring, rsize, counts)
            else:
                _replay_total(alloc, free, r, ring, rsize, counts)
        finally:
            heap_unlock()
    wall = _diff(_stamp(), t0) * _NS
    if workload == "pair":
        counts[0] = counts[1] = steps
    na, nf, fails = counts
    ballast = ring = bufs = None
    _gc_restore()
    op = "realloc" if workload == "realloc" else "alloc"
    if each:
        out = {op: summary(la, na, timer), "free": summary(lf, nf, timer)}
        out["total_ns"] = out[op].get("total", 0.0) + out["free"].get("total", 0.0)
    else:
        out = {op: {"n": na}, "free": {"n": nf}, "harness_ns": harness,
               "total_ns": max(0, wall - harness)}
    out["failures"] = fails
    out["wall_ns"] = wall
    out["gc_live_bytes"] = gc_live
    if a is not None and hasattr(a, "chunks"):
        out["bookkeeping_bytes"] = len(a._bits)
    return out


def efficiency(contender, runs, seed, pool_bytes):
    """talc's heap efficiency: random alloc (50 %), free (30 %), realloc (20 %)
    until the first failure; live requested bytes / heap bytes, in percent."""
    if contender == "bytearray":
        raise ValueError("bytearray has no heap of its own to fill")
    aligns = bench_workloads.ALIGNS_MCU
    percents = []
    for run_no in range(runs):
        rng = bench_workloads.Rng(seed + run_no)
        a = make(contender, pool_bytes)
        handles = []
        sizes = []
        while True:
            act = rng.below(10)
            size = 16 + rng.below(1024 - 16)
            align = aligns[rng.below(len(aligns))]
            if act < 5 or not handles:
                h = a.try_alloc(size, align)
                if h < 0:
                    break
                handles.append(h)
                sizes.append(size)
                continue
            j = rng.below(len(handles))
            if act < 8:
                a.free(handles[j])
                handles[j] = handles[-1]
                sizes[j] = sizes[-1]
                handles.pop()
                sizes.pop()
                continue
            try:
                handles[j] = a.realloc(handles[j], size, align)
                sizes[j] = size
            except MemoryError:
                break
        live = 0
        for n in sizes:
            live += n
        percents.append(100.0 * live / pool_bytes)
    return {"efficiency": sum(percents) / len(percents), "runs": percents}


def run(workload, contender, steps=20000, seed=1, pool_bytes=POOL, scenario="loaded",
        timing="each"):
    """Run one workload on one contender and print the BENCH line."""
    if workload == "efficiency":
        out = efficiency(contender, EFFICIENCY_RUNS, seed, pool_bytes)
    else:
        out = timed(workload, contender, steps, seed, pool_bytes, scenario, timing)
        out["scenario"] = scenario
    a = make(contender, CHUNK * 8)
    out["workload"] = workload
    out["contender"] = contender
    out["kernel"] = kernel_of(a)
    out["fast"] = bool(a is not None and getattr(a, "fast", False))
    out["steps"] = steps
    out["seed"] = seed
    out["pool_bytes"] = pool_bytes
    out["chunk_size"] = CHUNK
    out["clock"] = CLOCK
    out["clock_resolution_ns"] = _NS
    out["timing"] = "single operations" if timing == "each" else "whole loop"
    out["timer_ns"] = timer_ns()
    out["python"] = sys.version
    print("BENCH " + json.dumps(out))
    return out


def probe():
    """Print what this runtime offers the benchmark, as a BENCH line."""
    gc.collect()
    out = {"kernels": list(kernels()), "contenders": list(contenders()),
           "mem_free": gc.mem_free() if hasattr(gc, "mem_free") else None,
           "machine": getattr(sys.implementation, "_machine", sys.platform),
           "python": sys.version, "clock": CLOCK, "clock_resolution_ns": _NS}
    print("BENCH " + json.dumps(out))
    return out
