"""`chunkalloc bench --quick` runs on the unix port and writes its table, JSON and plots;
the board path (batches on fresh boards, instruction counts) runs against a stand-in
board that is the unix port.

These tests check that the benchmark runs and that its outputs are complete and
well-formed; never its timings (this machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import struct
import subprocess
from pathlib import Path

import pytest

from chunkalloc_host import LIBRARY, cli, cmd_bench
from chunkalloc_host.boards import load_board
from chunkalloc_host.cmd_bench import (BASELINE, BOARD_WORKLOADS, CPYTHON_CONTENDERS, FLOOR,
                                       OTHERS, SCENARIOS, TIMED, add_instructions, add_ratios,
                                       board_jobs, median_run, parse, parse_all)
from chunkalloc_host.target import UnixTarget

STATS = {"n", "median", "mean", "p99", "p999", "max", "total", "cdf"}
PNGS = {f"latency_{w}{suffix}.png": (800, 500) for w in TIMED for suffix in ("", "_idle")}
PNGS.update({"latency_mcu_cpython.png": (800, 500), "efficiency.png": (700, 450)})


def bench(args: list[str]) -> tuple[dict, str]:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = cli.main(["bench", *args])
    assert status == 0
    out = Path(args[args.index("--out") + 1])
    return json.loads((out / "bench.json").read_text()), buffer.getvalue()


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[Path, dict, str]:
    out = tmp_path_factory.mktemp("bench")
    report, text = bench(["--quick", "--out", str(out)])
    return out, report, text


def test_json_holds_every_workload_against_every_contender_in_both_scenarios(quick):
    _, report, _ = quick
    kernels = report["kernels"]
    assert report["contenders"] == [*kernels, *OTHERS]
    assert report["scenarios"] == list(SCENARIOS) == ["idle", "loaded"]
    runs = {(r["runtime"], r["workload"], r["contender"], r.get("scenario"))
            for r in report["results"]}
    expected = {("micropython", w, c, s) for w in TIMED for c in report["contenders"]
                for s in SCENARIOS}
    expected |= {("micropython", "efficiency", c, None) for c in report["contenders"]
                 if c != BASELINE}
    expected |= {("micropython", "pair", c, s) for c in [*kernels, BASELINE, FLOOR]
                 for s in SCENARIOS}
    expected |= {("cpython", "mcu", c, "idle") for c in CPYTHON_CONTENDERS}
    assert runs == expected
    assert len(runs) == len(report["results"])
    assert {"command", "machine", "runtime_s", "steps", "pool_bytes", "seed"} <= report.keys()
    assert report["counts_instructions"] is False


def test_timed_results_carry_latency_stats_clock_and_ratios(quick):
    _, report, _ = quick
    for r in report["results"]:
        if r["workload"] == "efficiency":
            assert 0 < r["efficiency"] <= 100 and len(r["runs"]) >= 1
            continue
        op = "realloc" if r["workload"] == "realloc" else "alloc"
        assert r[op]["n"] > 0 and r["failures"] >= 0 and r["total_ns"] >= 0
        assert r["clock"] and r["clock_resolution_ns"] >= 1 and r["timing"]
        # >= 0: a kernel faster than the 1 µs clock, net of the timer's own cost, may
        # total 0 in a --quick run (seen with the C kernel on a loaded machine)
        assert r["vs_bytearray"]["total"] >= 0
        if r["contender"] == "bytearray":
            assert r["vs_bytearray"]["total"] == 1.0
        if r["workload"] == "pair":  # timed whole, the loop without the pairs taken off
            assert r["timing"] == "whole loop" and r[op]["n"] == r["free"]["n"] == r["steps"]
            assert r["harness_ns"] >= 0 and r["wall_ns"] >= r["total_ns"]
            continue
        assert r["timing"] == "single operations"
        assert STATS <= r[op].keys(), r[op].keys()
        assert r[op]["median"] <= r[op]["p99"] <= r[op]["p999"] <= r[op]["max"]
        assert [p for p, _ in r[op]["cdf"]] == sorted(p for p, _ in r[op]["cdf"])
        if r["contender"] == BASELINE:
            assert r["vs_bytearray"]["total"] == pytest.approx(1.0)


def test_the_loaded_gc_heap_holds_live_data_and_the_idle_one_does_not(quick):
    _, report, _ = quick
    live = {(r["workload"], r["contender"], r["scenario"]): r["gc_live_bytes"]
            for r in report["results"] if r["runtime"] == "micropython"
            and r["workload"] in TIMED}
    for (workload, contender, scenario), n in live.items():
        if scenario == "loaded":  # ballast the size of the pool (64 KiB)
            assert n - live[workload, contender, "idle"] >= report["pool_bytes"] // 2


def test_kernel_contenders_really_ran_their_kernels(quick):
    _, report, _ = quick
    kernels = report["kernels"]
    assert "viper" in kernels and kernels[-1] == "pure"  # the x64 unix port has viper
    for r in report["results"]:
        if r["contender"] in kernels:
            assert r["kernel"] == r["contender"]
            assert r["fast"] is (r["contender"] != "pure")
        if r["contender"] == "firstfit":
            assert r["kernel"] == kernels[0] and r["fast"] is True
        if r["contender"] in ("linked-list", BASELINE):
            assert r["kernel"] is None


def test_plots_are_pngs_of_the_expected_size(quick):
    out, _, _ = quick
    for name, size in PNGS.items():
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert data[12:16] == b"IHDR"
        assert struct.unpack(">II", data[16:24]) == size, name


def test_terminal_report_has_a_latency_row_per_timed_run_and_the_scenarios_side_by_side(quick):
    _, report, text = quick
    assert "p99.9" in text and "heap efficiency" in text
    latency, both = text.split("\n\n")[:2]
    each = [r for r in report["results"] if r["workload"] in TIMED]
    rows = [line for line in latency.splitlines() if line.split()[:1]
            and line.split()[0] in TIMED]
    free_rows = [line for line in latency.splitlines() if line.split()[:1] == ["free"]]
    assert len(rows) == len(each)
    assert len(free_rows) == sum(1 for r in each if r["free"]["n"])
    head = both.splitlines()[1].split()
    assert head[:4] == ["workload", "contender", "runtime", "op"]
    assert head.index("idle") < head.index("loaded")
    groups = {(r["workload"], r["contender"], r["runtime"]) for r in report["results"]
              if r["workload"] != "efficiency"}
    side = [line.split() for line in both.splitlines()[3:] if line.split()[:1]
            and line.split()[0] in (*TIMED, "pair")]
    assert len(side) == len(groups)
    for cells in side:  # the baseline's ratios are 1.00 in each scenario it ran in
        if cells[1] == BASELINE:  # total and p99.9 (pairs: total only); CPython: idle only
            ratios = 1 if cells[0] == "pair" else 2
            scenarios = 2 if cells[2] == "micropython" else 1
            assert cells.count("1.00") == ratios * scenarios, cells


def test_ratios_are_taken_against_bytearray_of_the_same_workload_runtime_and_scenario():
    def result(contender: str, scenario: str, total: float, p999: float) -> dict:
        return {"runtime": "micropython", "workload": "mcu", "contender": contender,
                "scenario": scenario, "alloc": {"total": total, "p999": p999},
                "free": {"total": 0.0}}

    results = [result("viper", "idle", 50.0, 10.0), result(BASELINE, "idle", 100.0, 100.0),
               result("viper", "loaded", 50.0, 10.0), result(BASELINE, "loaded", 25.0, 50.0)]
    add_ratios(results)
    assert results[0]["vs_bytearray"] == {"total": 0.5, "p999": 0.1}
    assert results[2]["vs_bytearray"] == {"total": 2.0, "p999": 0.2}


def test_whole_loop_totals_become_instructions_per_op_on_a_counting_board():
    r = {"runtime": "micropython", "workload": "mcu", "contender": "viper", "scenario": "idle",
         "alloc": {"n": 90}, "free": {"n": 70}, "failures": 10, "total_ns": 1_600_000,
         "harness_ns": 400_000}
    pair = {"runtime": "micropython", "workload": "pair", "contender": "viper",
            "scenario": "idle", "alloc": {"n": 100}, "free": {"n": 100}, "failures": 0,
            "total_ns": 800_000, "harness_ns": 0}
    add_instructions([r, pair], 1.0)
    assert r["instructions"] == {"total": 1_600_000, "per_op": 10_000.0, "harness": 400_000,
                                 "per_request": 16_000.0}
    assert pair["instructions"]["per_op"] == 8_000.0  # per alloc+free pair
    add_instructions([pair], 25 / 16)  # a board whose ticks run at 16/25 of its clock
    assert pair["instructions"]["total"] == 1_250_000


def test_a_board_runs_one_batch_per_contender_pairs_for_kernels_and_bytearray_only():
    batches = board_jobs(["viper", "pure", "firstfit", "linked-list", BASELINE],
                         ["viper", "pure"])
    assert [b[0].contender for b in batches] == ["viper", "pure", "firstfit", "linked-list",
                                                  BASELINE]
    for batch in batches:
        first = batch[0].contender
        # the floor of the pair runs with bytearray, on the board as it booted
        assert {j.contender for j in batch} == ({first, FLOOR} if first == BASELINE else {first})
        assert all(j.timing == "total" and j.workload in BOARD_WORKLOADS for j in batch)
        want = {("mcu", s) for s in SCENARIOS}
        if first in ("viper", "pure", BASELINE):
            want |= {("pair", s) for s in SCENARIOS}
        assert {(j.workload, j.scenario) for j in batch if j.contender == first} == want
        assert all(j.workload == "pair" for j in batch if j.contender == FLOOR)


class StandInBoard(UnixTarget):
    """The unix port standing in for an emulated board that counts instructions."""

    def __init__(self) -> None:
        super().__init__()
        self.board = load_board("qemu-m3")
        self.counts_instructions = True
        self.mount = LIBRARY
        self.restarts = 0
        self.calls = 0

    def run(self, code: str, **kwargs) -> subprocess.CompletedProcess:
        self.calls += 1
        return super().run(code, **kwargs)

    def restart(self) -> None:
        self.restarts += 1


def test_on_a_counting_board_the_report_is_in_instructions(tmp_path, monkeypatch):
    board = StandInBoard()
    opened: list[tuple] = []

    def fake_open_target(name: str, port: str | None = None, **kwargs) -> StandInBoard:
        opened.append((name, port, kwargs))
        return board

    monkeypatch.setattr(cmd_bench, "open_target", fake_open_target)
    report, text = bench(["--board", "qemu-m3", "--steps", "200", "--pool-kib", "16",
                          "--out", str(tmp_path)])
    assert opened == [("qemu-m3", None, {"icount": True, "micropython": None})]
    contenders = report["contenders"]
    assert board.calls == len(contenders) and board.restarts == len(contenders) - 1
    assert report["counts_instructions"] is True and report["tick_scale"] == 1.0
    runs = {(r["workload"], r["contender"], r["scenario"]) for r in report["results"]}
    assert runs == ({("mcu", c, s) for c in contenders for s in SCENARIOS}
                    | {("pair", c, s) for c in [*report["kernels"], BASELINE, FLOOR]
                       for s in SCENARIOS})
    for r in report["results"]:
        if r["workload"] == "pair":  # each pair as a multiple of its floor, same scenario
            assert r["vs_floor"] >= 0
    assert "beside its floor" in text and "× floor" in text
    for r in report["results"]:
        assert r["timing"] == "whole loop" and r["instructions"]["per_op"] >= 0
        assert r["instructions"]["total"] == round(r["total_ns"])
    assert "instr/op" in text and "instructions are not cycles" in text
    assert "median" not in text  # no op-by-op latencies from a board
    assert not list(tmp_path.glob("*.png"))


def test_output_without_a_bench_line_is_an_error():
    with pytest.raises(ValueError, match="no BENCH line"):
        parse("Traceback (most recent call last):\nMemoryError\n")
    assert parse_all('x\nBENCH {"a": 1}\nBENCH {"a": 2}\n') == [{"a": 1}, {"a": 2}]


def test_firmware_refuses_an_unknown_scenario_or_timing():
    for args in ("'mcu', 'viper', 10, 1, 4096, 'busy'", "'mcu', 'viper', 10, 1, 4096, 'idle', 'x'",
                 "'pair', 'viper', 10, 1, 4096, 'idle', 'each'", "'mcu', 'nope', 10, 1, 4096"):
        done = UnixTarget().run(f"import bench\nbench.run({args})", capture=True)
        assert done.returncode == 1 and "ValueError" in done.stdout, args


@pytest.mark.parametrize("option", ["--steps", "--pool-kib", "--repeat"])
def test_counts_below_one_are_refused(tmp_path, option):
    with pytest.raises(SystemExit, match=option):
        cli.main(["bench", option, "0", "--out", str(tmp_path)])


def test_board_sizes_are_the_default_on_a_board():
    parser = argparse.ArgumentParser()
    cmd_bench.add_arguments(parser)
    args = parser.parse_args([])
    assert args.steps is None and args.pool_kib is None  # chosen by target in run()
    assert cmd_bench.BOARD == {"steps": 2000, "pool_kib": 32}


def test_the_ring_of_live_handles_is_sized_from_the_streams_peak_and_a_full_one_frees_first():
    from array import array

    import bench
    import bench_workloads

    pool = 64 * 256
    s = bench_workloads.mcu_stream(600, 1, pool)
    live: list[int] = []  # the requests' sizes, oldest first, every request succeeding
    peak = 0
    for i in range(s.steps):
        d = 7 if s.drops[i] and len(live) > 10 else 0
        while live and (d or sum(live) + s.sizes[i] > s.cap):
            live.pop(0)
            d = max(0, d - 1)
        live.append(s.sizes[i])
        peak = max(peak, len(live))
    assert s.peak() == peak > 10
    for slots in (peak + 1, 8):  # 8: the ring fills, and its oldest is freed first
        a = bench.make("pure", pool)
        ring: list[object] = [None] * slots
        counts = array("i", [0, 0, 0])
        bench._replay_total(a.try_alloc, a.free, s, ring, bench_workloads.blank("H", slots),
                            counts)
        na, nf, fails = counts
        assert na == s.steps and a.allocations == na - fails - nf <= slots
        a.check()
