"""The tuner: on synthetic traces with an obvious answer it finds it, and the pool it
recommends replays the trace with no failures."""

from __future__ import annotations

import math

from chunkalloc_host import cli, tracefile
from chunkalloc_host.tune import peak_chunks, smallest_pool, tune


def fifo_trace(size: int, live: int, rounds: int, pool_chunks: int = 64,
               chunk_size: int = 64) -> tracefile.Trace:
    """Packets of size bytes, live at once, sent oldest first, as a device would
    record them (offsets are the device's: distinct per live packet)."""
    trace = tracefile.Trace(pool_chunks, chunk_size)
    slots = [s * chunk_size * math.ceil(size / chunk_size) for s in range(live)]
    queue = []
    for n in range(rounds):
        if len(queue) == live:
            trace.ops.append(tracefile.Op("f", queue.pop(0), 0, 0, 0))
        offset = slots[n % live]
        trace.ops.append(tracefile.Op("a", -1, size, 1, offset))
        queue.append(offset)
    return trace


def test_packets_of_64_bytes_ten_at_a_time_want_ten_64_byte_chunks():
    trace = fifo_trace(64, 10, 200)
    fits = tune(trace, [16, 32, 64, 128, 256], margin=0.0, progress=False)
    best = fits[0]
    assert (best.chunk_size, best.chunks, best.best_fit) == (64, 10, True)
    assert best.ram == 10 * 64 + 8 and best.result.failures == 0 and best.result.waste == 0.0
    smallest = {(f.chunk_size, f.best_fit): f.min_chunks for f in fits}
    assert smallest[16, True] == 40 and smallest[32, True] == 20 and smallest[256, True] == 10


def test_the_margin_is_added_and_the_margined_pool_never_fails():
    trace = fifo_trace(100, 7, 150)
    fits = tune(trace, [32, 128], margin=0.25, progress=False)
    for f in fits:
        assert f.chunks == math.ceil(f.min_chunks * 1.25)
        assert f.result.failures == 0 and f.result.chunks == f.chunks


def test_the_smallest_pool_counts_fragmentation_not_just_the_peak():
    # four 16-byte blocks, the first and third freed, then 32 bytes: four chunks
    # are live at the peak, but the two free holes are apart, so it takes six
    trace = tracefile.parse("chunkalloc-trace 1\npool chunks=8 chunk_size=16 base=0\ndropped 0\n"
                            "a 16 1 0\na 16 1 16\na 16 1 32\na 16 1 48\nf 0\nf 32\na 32 1 64\n"
                            "end 7\n")
    assert peak_chunks(trace, 16) == 4
    assert smallest_pool(trace, 16, True)[0] == 6
    assert smallest_pool(trace, 32, True)[0] == 4


def test_tune_command_prints_the_evidence_and_the_recommendation(tmp_path, capsys):
    path = tmp_path / "fifo.trace"
    tracefile.write(path, fifo_trace(64, 10, 200))
    assert cli.main(["tune", str(path), "--chunk-size", "32,64,128", "--margin", "0",
                     "--no-progress"]) == 0
    out = capsys.readouterr().out
    table = [line.split() for line in out.splitlines() if line.split()[:1] in (["32"], ["64"], ["128"])]
    assert len(table) == 6
    assert ["64", "on", "10", "10", "640", "8", "648", "*"] == table[2][:8]
    assert "recommend: chunk_size=64 chunks=10 best_fit=True (640 B pool + 8 B bitmap = 648 B)" in out
    assert "chunkalloc.heap(10, 64), chunkalloc.heap_bitmap(10), 64)" in out
