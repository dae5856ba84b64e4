# The demo's pipeline: every packet received is sent or dropped, its stamps
# survive realloc, and the pool ends empty and consistent. On MicroPython it
# runs with the GC heap locked, so finishing at all proves it allocated nothing.

import demo
import fwtest


def test_demo_pipeline_accounts_for_every_packet_and_ends_empty():
    pool = demo.make_pool(fast=fwtest.KERNEL)
    ticks = []
    p = demo.run(pool, 0.3, lambda pool: ticks.append(pool.used))
    assert p.received > 0 and p.received == p.sent + p.dropped
    assert p.grown + p.moved + p.trimmed > 0
    assert pool.used == 0 and pool.allocations == 0
    assert ticks, "tick was never called"
    pool.check()


def test_demo_pipeline_drops_rather_than_fails_on_a_small_pool():
    pool = demo.make_pool(32, 64, fwtest.KERNEL)
    p = demo.run(pool, 0.2)
    assert p.dropped > 0 and p.received == p.sent + p.dropped
    pool.check()


def test_demo_pool_is_512_chunks_unless_the_board_has_too_little_free_heap():
    assert demo.board_chunks(None) == demo.CHUNKS == 512  # CPython: the README's output
    assert demo.board_chunks(10 ** 6) == 512
    assert demo.board_chunks(2 * fwtest.pool_bytes(512, 64)) == 512
    for free in (60000, 30000, 20000):
        n = demo.board_chunks(free)
        assert n % 32 == 0 and n < 512
        assert fwtest.pool_bytes(n, 64) <= free // 2 < fwtest.pool_bytes(n + 32, 64), free
    assert demo.board_chunks(1000) == 32  # the least the demo runs on
    free = fwtest.heap_free()
    fits = free is None or fwtest.allocatable(fwtest.pool_bytes(demo.board_chunks(free), 64))
    n = demo.make_pool().chunks
    if fits:
        assert n == demo.board_chunks(free)
    else:  # no block that large: halved until one fits
        assert 32 <= n < demo.board_chunks(free) and n % 32 == 0
