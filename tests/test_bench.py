"""`chunkalloc bench --quick` runs on the unix port and writes its table, JSON and plots.

These tests check that the benchmark runs and that its outputs are complete and
well-formed; never its timings (this machine is shared and noisy).
"""

from __future__ import annotations

import contextlib
import io
import json
import struct
import subprocess
from pathlib import Path

import pytest

from chunkalloc_host import cli
from chunkalloc_host import FIRMWARE
from chunkalloc_host.cmd_bench import (BASELINE, CONTENDERS, CPYTHON_CONTENDERS, FILES, WORKLOADS,
                                       add_ratios, install, median_run, parse)

STATS = {"n", "median", "mean", "p99", "p999", "max", "total", "cdf"}
PNGS = {"latency_seed.png": (800, 500), "latency_mcu.png": (800, 500),
        "latency_realloc.png": (800, 500), "latency_mcu_cpython.png": (800, 500),
        "efficiency.png": (700, 450)}


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("bench")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = cli.main(["bench", "--quick", "--out", str(out)])
    assert status == 0
    return out, json.loads((out / "bench.json").read_text()), buffer.getvalue()


def test_json_holds_every_workload_against_every_contender(quick):
    _, report, _ = quick
    runs = {(r["runtime"], r["workload"], r["contender"]) for r in report["results"]}
    expected = {("micropython", w, c) for w in WORKLOADS for c in CONTENDERS
                if not (w == "efficiency" and c == BASELINE)}
    expected |= {("cpython", "mcu", c) for c in CPYTHON_CONTENDERS}
    assert runs == expected
    assert {"command", "machine", "runtime_s", "steps", "pool_bytes", "seed"} <= report.keys()


def test_timed_results_carry_latency_stats_clock_and_ratios(quick):
    _, report, _ = quick
    for r in report["results"]:
        if r["workload"] == "efficiency":
            assert 0 < r["efficiency"] <= 100 and len(r["runs"]) >= 1
            continue
        op = "realloc" if r["workload"] == "realloc" else "alloc"
        assert STATS <= r[op].keys(), r[op].keys()
        assert r[op]["n"] > 0 and r["failures"] >= 0
        assert r[op]["median"] <= r[op]["p99"] <= r[op]["p999"] <= r[op]["max"]
        assert [p for p, _ in r[op]["cdf"]] == sorted(p for p, _ in r[op]["cdf"])
        assert r["clock"] and r["clock_resolution_ns"] >= 1 and r["timing"]
        assert r["vs_bytearray"]["total"] > 0
        if r["contender"] == BASELINE:
            assert r["vs_bytearray"]["total"] == pytest.approx(1.0)


def test_fast_contenders_really_ran_the_viper_kernels(quick):
    _, report, _ = quick
    for r in report["results"]:
        if r["runtime"] == "micropython" and r["contender"] in ("fast", "firstfit"):
            assert r["fast"] is True
        if r["contender"] == "pure":
            assert r["fast"] is False


def test_plots_are_pngs_of_the_expected_size(quick):
    out, _, _ = quick
    for name, size in PNGS.items():
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert data[12:16] == b"IHDR"
        assert struct.unpack(">II", data[16:24]) == size, name


def test_terminal_table_has_a_row_per_timed_run_and_the_efficiency_lines(quick):
    _, report, text = quick
    assert "p99.9" in text and "heap efficiency" in text
    timed = [r for r in report["results"] if r["workload"] != "efficiency"]
    rows = [line for line in text.splitlines()
            if line.split()[:1] and line.split()[0] in ("seed", "mcu", "realloc")]
    free_rows = [line for line in text.splitlines() if line.split()[:1] == ["free"]]
    assert len(rows) == len(timed)
    assert len(free_rows) == sum(1 for r in timed if r["free"]["n"])


def test_ratios_are_taken_against_bytearray_of_the_same_workload_and_runtime():
    def result(contender: str, total: float, p999: float) -> dict:
        return {"runtime": "micropython", "workload": "mcu", "contender": contender,
                "alloc": {"total": total, "p999": p999}, "free": {"total": 0.0}}

    results = [result("fast", 50.0, 10.0), result(BASELINE, 100.0, 100.0)]
    add_ratios(results)
    assert results[0]["vs_bytearray"] == {"total": 0.5, "p999": 0.1}


def test_repeated_runs_keep_the_one_of_median_total_time():
    def result(total: float) -> dict:
        return {"workload": "mcu", "alloc": {"total": total}, "free": {"total": 1.0}}

    chosen = median_run([result(9.0), result(2.0), result(5.0)])
    assert chosen["alloc"]["total"] == 5.0 and chosen["repeats"] == 3
    efficiency = [{"workload": "efficiency", "efficiency": 86.0}] * 2
    assert median_run(efficiency) is efficiency[0]


def test_on_a_board_the_benchmark_modules_are_copied_first():
    class Board:
        def __init__(self) -> None:
            self.copied: list[Path] = []

        def put(self, paths: list[Path]) -> subprocess.CompletedProcess:
            self.copied += paths
            return subprocess.CompletedProcess([], 0, "")

    board = Board()
    install(board)
    assert board.copied == [FIRMWARE / name for name in FILES]
    assert all(path.exists() for path in board.copied)


def test_output_without_a_bench_line_is_an_error():
    with pytest.raises(ValueError, match="no BENCH line"):
        parse("Traceback (most recent call last):\nMemoryError\n")


@pytest.mark.parametrize("option", ["--steps", "--pool-kib", "--repeat"])
def test_counts_below_one_are_refused(tmp_path, option):
    with pytest.raises(SystemExit, match=option):
        cli.main(["bench", option, "0", "--out", str(tmp_path)])
