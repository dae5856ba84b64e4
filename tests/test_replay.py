"""Replay: a trace recorded on the MicroPython unix port, replayed on the CPython path
with the same geometry, makes the same placements and fails where the device failed;
and the replay's bookkeeping when it and the device part ways."""

from __future__ import annotations

import pytest
from matplotlib.image import imread

from chunkalloc_host import cli, tracefile
from chunkalloc_host.cmd_trace import trace_code
from chunkalloc_host.replay import SKIPPED, replay
from chunkalloc_host.target import UnixTarget

# A fixed-seed workload: allocations of 1..700 bytes aligned up to 256 (more than
# a chunk, so the heap's base address matters), frees and reallocs, on a pool
# small enough that a good share of requests find no room.
WORKLOAD = """
import chunkalloc
def make_pool():
    return chunkalloc.ChunkAllocator(chunkalloc.heap(96, 16), chunkalloc.heap_bitmap(96), 16,
                                     {fast}, {best_fit})
def run(pool, seconds, tick=None):
    live = [-1] * 24
    x = 12345
    for _ in range(3000):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        slot = x % 24
        if live[slot] < 0:
            live[slot] = pool.try_alloc(1 + (x >> 8) % 700, 1 << ((x >> 4) % 9))
        elif (x >> 12) % 4 == 0:
            try:
                live[slot] = pool.realloc(live[slot], 1 + (x >> 16) % 300, 1 << ((x >> 5) % 9))
            except MemoryError:
                pass
        else:
            pool.free(live[slot])
            live[slot] = -1
"""


def record(tmp_path, fast: bool, best_fit: bool) -> tracefile.Trace:
    code = trace_code(None, 1.0, 20000).replace("from demo import make_pool, run\n", "")
    done = UnixTarget().run(WORKLOAD.format(fast=fast, best_fit=best_fit) + code,
                            capture=True, timeout=60)
    assert done.returncode == 0, done.stdout
    return tracefile.parse(tracefile.extract(done.stdout))


@pytest.mark.parametrize("fast", [True, False], ids=["viper", "pure"])
@pytest.mark.parametrize("best_fit", [True, False], ids=["best_fit", "next_fit"])
def test_replay_on_cpython_fails_exactly_where_the_unix_port_failed(tmp_path, fast, best_fit):
    trace = record(tmp_path, fast, best_fit)
    assert trace.dropped == 0 and len(trace.ops) > 2000
    failures = trace.failures()
    assert len(failures) > 50  # the pool is small enough to fail often
    assert any(op.kind == "r" and op.failed for op in trace.ops)
    assert any(op.align > trace.chunk_size and not op.failed for op in trace.ops)
    again = replay(trace, trace.chunk_size, best_fit, progress=False)
    assert again.failed_ops() == failures
    assert again.results == [op.result for op in trace.ops]  # every placement the same
    assert again.unmatched == 0


def test_trace_command_records_the_demo_and_the_replay_matches_it(tmp_path, capsys):
    out = tmp_path / "demo.trace"
    assert cli.main(["trace", "--board", "unix", "--seconds", "0.02", "--records", "60000",
                     "--out", str(out)]) == 0
    trace = tracefile.read(out)
    assert trace.dropped == 0 and trace.ops
    again = replay(trace, trace.chunk_size, True, progress=False)
    assert again.failed_ops() == trace.failures()
    assert again.results == [op.result for op in trace.ops]


def trace_of(*ops: str, chunks: int = 8, chunk_size: int = 16) -> tracefile.Trace:
    return tracefile.parse(f"chunkalloc-trace 1\npool chunks={chunks} chunk_size={chunk_size}"
                           f" base=0\ndropped 0\n" + "\n".join(ops) + f"\nend {len(ops)}\n")


def test_an_allocation_the_device_could_not_make_is_not_kept_by_a_bigger_replay():
    t = trace_of("a 100 1 0", "a 100 1 -1", "a 16 1 112")
    r = replay(t, 16, True, pool_bytes=512)
    assert r.failures == 0 and r.results[1] >= 0
    assert r.peak_chunks == 8  # the 7 chunks of the second request were given back at once


def test_frees_and_reallocs_of_blocks_the_replay_never_had_are_skipped_and_counted():
    t = trace_of("a 100 1 0", "a 64 1 112", "r 112 80 1 -1", "r 112 16 1 144", "f 144", "f 0",
                 chunks=16)
    r = replay(t, 16, True, pool_bytes=128)  # room for the first, not the second
    assert r.results == [0, -1, SKIPPED, 112, 0, 0]  # the realloc the device made is an alloc
    assert r.failures == 1 and r.unmatched == 2


def test_replay_measures_peak_waste_and_efficiency():
    t = trace_of("a 20 1 0", "a 16 1 32", "a 200 1 -1", "f 0")
    r = replay(t, 16, True)
    assert (r.peak_chunks, r.peak_bytes, r.peak_usage) == (3, 48, 37.5)
    assert r.waste == pytest.approx(100 - 100 * 36 / 48)
    assert r.efficiency == pytest.approx(100 * 36 / 128)  # live requested bytes at the failure
    assert replay(t, 16, True, pool_bytes=1024).efficiency is None


def test_replay_command_prints_a_row_per_chunk_size_and_policy_and_plots_them(tmp_path, capsys):
    t = tmp_path / "t.trace"
    tracefile.write(t, trace_of("a 20 1 0", "a 40 1 32", "f 0", "a 100 1 -1", "f 32",
                                chunks=16, chunk_size=16))
    assert cli.main(["replay", str(t), "--chunk-size", "16,32,64"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["16"], ["32"], ["64"])]
    assert [(r[0], r[1], r[2]) for r in rows] == [("16", "on", "16"), ("16", "off", "16"),
                                                  ("32", "on", "8"), ("32", "off", "8"),
                                                  ("64", "on", "4"), ("64", "off", "4")]
    assert imread(tmp_path / "t-replay.png").shape[:2] == (360, 1200)


def test_replay_command_rejects_chunk_sizes_that_are_not_powers_of_two(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["replay", str(tmp_path / "t.trace"), "--chunk-size", "16,48"])
    assert "powers of two" in capsys.readouterr().err
