# Sizing a test's pool to the board (fwtest.fit) and the runner's skips for
# what a board leaves out (runtests.missing_module): a test that cannot fit
# or needs a module the board lacks says SKIP with the reason, never FAIL.

import runtests
from fwtest import fitting, pool_bytes, Skip


def test_a_pool_within_half_the_free_heap_keeps_its_size():
    assert fitting(None, 256, 64, 32) == 256  # CPython: no limit
    need = pool_bytes(256, 64)
    assert fitting(2 * need, 256, 64, 32) == 256
    assert fitting(2 * need - 2, 256, 64, 32) < 256


def test_a_pool_too_big_shrinks_to_the_most_that_fit_with_its_count_mod_32():
    for chunks, cs, least in ((256, 64, 32), (333, 32, 45), (61, 8, 29), (100, 16, 36)):
        for free in (1200, 5000, 9000, 20000):
            if 2 * pool_bytes(least, cs) > free:
                continue
            n = fitting(free, chunks, cs, least)
            assert least <= n <= chunks
            assert pool_bytes(n, cs) <= free // 2
            if n < chunks:
                assert n % 32 == chunks % 32
                assert pool_bytes(n + 32, cs) > free // 2


def test_a_pool_whose_least_size_does_not_fit_skips_naming_both_sizes():
    try:
        fitting(20000, 61, 256)
        skipped = ""
    except Skip as e:
        skipped = str(e)
    assert skipped == "needs %d bytes of heap, the board has 20000 free" % (2 * pool_bytes(61, 256))


def test_an_import_error_for_a_board_module_skips_and_for_one_of_ours_fails():
    assert runtests.missing_module(ImportError("no module named '_thread'")) == "_thread"
    assert runtests.missing_module(ImportError("No module named 'uctypes'")) == "uctypes"
    for ours in ("chunkalloc_map", "fwtest", "xorshift", "bench_linked", "demo", "test_alloc"):
        assert runtests.missing_module(ImportError("no module named '%s'" % ours)) is None
    assert runtests.missing_module(ImportError("can't import name heap_lock")) is None


def test_a_module_that_cannot_import_reports_each_test_its_source_defines():
    names = runtests.test_names("test_sizing")
    if names == ["*"]:
        raise Skip("the tests came to this board as .mpy: no source to read")
    assert names == sorted(names)
    assert "test_a_module_that_cannot_import_reports_each_test_its_source_defines" in names
    assert len(names) == 5
    assert runtests.test_names("test_no_such_module") == ["*"]
