"""The emulated board: QEMU's micro:bit running MicroPython 1.9.2 (no memoryview, no viper,
no .mpy loading, ~9 KB of heap). Started on a free loopback port per module, stopped after.
Without qemu-system-arm or the firmware these skip, or fail when CI is set."""

import os

import pytest

from chunkalloc_host.boards import load_board
from chunkalloc_host.cli import main
from chunkalloc_host.cmd_deploy import PROBE, parse_probe
from chunkalloc_host.qemu import EmulatedMicrobit, missing
from chunkalloc_host.target import BoardTarget

LISTDIR = "import os\nprint(sorted(os.listdir()))"


@pytest.fixture(scope="module")
def microbit():
    problem = missing()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the emulated board: {problem}")
        pytest.skip(problem)
    with EmulatedMicrobit() as url:
        yield BoardTarget(load_board("microbit"), url)


def files_on(target):
    return target.run(LISTDIR, capture=True, timeout=30).stdout.strip()


def test_the_emulated_board_is_micropython_1_9_2_without_mpy_support(microbit):
    probe = parse_probe(microbit.run(PROBE, capture=True, timeout=30).stdout)
    assert probe.version == (1, 9, 2) and probe.mpy is None and 8000 < probe.free < 10000


def test_a_pool_too_large_for_the_board_is_refused_and_nothing_is_copied(microbit, capsys):
    assert main(["deploy", "--board", "microbit", "--port", microbit.port, "--chunks", "1024"]) == 1
    assert "refusing" in capsys.readouterr().err
    assert files_on(microbit) == "[]"


def test_deploy_writes_the_reduced_core_through_the_raw_repl_and_it_imports(microbit, capsys):
    assert main(["deploy", "--board", "microbit", "--port", microbit.port]) == 0
    assert "installed" in capsys.readouterr().out
    assert "'chunkalloc.py'" in files_on(microbit) and "'chunkpool.py'" in files_on(microbit)
    out = microbit.run_steps(["import chunkalloc", "from chunkpool import POOL",
                              "x = POOL.alloc(40)\ny = POOL.alloc(16)\nPOOL.free(x)",
                              "print(POOL.fast, x, y, POOL.size_of(y), POOL.used, POOL.try_alloc(9999))"],
                             timeout=60).stdout
    assert out.split() == ["False", "0", "48", "16", "1", "-1"], out
    microbit.remove(eval(files_on(microbit)))


def test_chunkalloc_test_runs_the_error_tests_there_and_reports_each(microbit, capsys):
    assert main(["test", "--board", "microbit", "--port", microbit.port, "test_errors"]) == 0
    out = capsys.readouterr().out
    assert out.count("PASS test_errors.") >= 5
    assert "PASS test_errors.test_constructor_rejects_wrong_types [pure]" in out
    assert " 0 failed" in out
