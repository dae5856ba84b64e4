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
