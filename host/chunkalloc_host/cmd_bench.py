"""`chunkalloc bench`: firmware/bench/bench.py on a target, every workload against every contender,
in two GC scenarios side by side: an idle GC heap and a board-like loaded one.

On the unix port each (workload, contender, scenario) runs as its own target call, so one
process's heap never colours another's timings, and every operation is timed on its own;
the CPython path (chunkalloc's kernels there against CPython's own bytearray) runs the MCU
mix in a `python` subprocess. On a board the jobs of one contender run in one call on a
freshly started board (an emulated board boots and mounts its build folder for each), and
each loop is timed whole with the loop's own bookkeeping taken off; on an emulated board
with QEMU's -icount shift=0 (`target.counts_instructions`) that time is an instruction
count. Results: a table on the terminal, bench.json and (unix port) PNG plots in --out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import APPS, LIBRARY
from .atomic import write_text_atomically
from .tables import aligned
from .target import add_target_arguments, open_target

HELP = ("benchmark chunkalloc against bytearray(n) and a linked-list allocator, on an idle and a "
        "loaded GC heap: table, JSON, plots")

WORKLOADS = ("seed", "mcu", "realloc", "efficiency", "pair")
TIMED = ("seed", "mcu", "realloc")  # timed op by op on the unix port
BOARD_WORKLOADS = ("mcu", "pair")  # on a board (efficiency makes the same decisions anywhere)
SCENARIOS = ("idle", "loaded")
OTHERS = ("firstfit", "linked-list", "bytearray")  # contenders besides chunkalloc's kernels
def cpython_contenders() -> tuple[str, ...]:
    """The CPython runs (the MCU mix, idle: CPython frees by refcount): chunkalloc's C
    kernel where the CPython extension was built (`pip install -e .` compiles it into
    firmware/chunkalloc/; a wheel installs it beside the top-level modules), its pure
    kernel, and bytearray(n)."""
    from importlib.machinery import PathFinder

    built = PathFinder.find_spec("chunkalloc_c", [str(LIBRARY), *sys.path]) is not None
    return ("c", "pure", "bytearray") if built else ("pure", "bytearray")


CPYTHON_CONTENDERS = cpython_contenders()
BASELINE = "bytearray"
# The pair's floor (firmware/bench.py Floor): two calls of a native function stored on an
# instance, which return at once; each pair is also given as a multiple of it
FLOOR = "floor"
PREFIX = "BENCH "
PAIRS_PER_STEP = 10  # the pair workload runs steps / 10 pairs (pure: a whole-pool scan each)
UNIX = {"steps": 20000, "pool_kib": 256}
BOARD = {"steps": 2000, "pool_kib": 32}  # the MCU mix sized to a ~135 KB GC heap
# Counts per ns of board time (time.ticks_us) where it is not 1 instruction: rp2040js
# advances its clock by 8 ns per cycle of its Cortex-M0+ model at 125 MHz while the
# core runs (a benchmark loop never sleeps), so there 1 ns is 0.125 cycles.
TICK_SCALE = {"RPI_PICO": 0.125}  # by connect.micropython_board

Result = dict[str, Any]


@dataclass(frozen=True)
class Job:
    runtime: str  # "micropython" (the target) or "cpython"
    workload: str
    contender: str
    scenario: str = "loaded"  # "" for efficiency
    timing: str = "each"  # "each": op by op; "total": the whole loop

    def call(self, steps: int, seed: int, pool_bytes: int) -> str:
        if self.workload == "pair":
            steps = max(1, steps // PAIRS_PER_STEP)
        return (f"bench.run({self.workload!r}, {self.contender!r}, {steps}, {seed}, "
                f"{pool_bytes}, {self.scenario or 'idle'!r}, {self.timing!r})")

    def code(self, steps: int, seed: int, pool_bytes: int) -> str:
        return "import bench\n" + self.call(steps, seed, pool_bytes)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--out", default="build/bench", help="directory for bench.json and "
                        "the PNG plots (default build/bench)")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"requests per workload (default {UNIX['steps']}; "
                        f"{BOARD['steps']} on a board)")
    parser.add_argument("--pool-kib", type=int, default=None,
                        help=f"pool size in KiB, 64 B chunks (default {UNIX['pool_kib']}: 4,096 "
                        f"chunks; {BOARD['pool_kib']} on a board: 512)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every request stream")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1,000 steps on a 64 KiB pool (16 KiB on a board)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each job N times and keep the run of median total time "
                        "(shared machines are noisy; default 1)")
    parser.add_argument("--no-cpython", dest="cpython", action="store_false",
                        help="skip the CPython runs")


def jobs(contenders: list[str], kernels: list[str], cpython: bool) -> list[Job]:
    """The unix port's jobs: every timed workload against every contender in both
    scenarios, heap efficiency, the empty-pool pair, and the CPython runs."""
    found = [Job("micropython", w, c, s) for w in TIMED for c in contenders for s in SCENARIOS]
    found += [Job("micropython", "efficiency", c, "") for c in contenders if c != BASELINE]
    found += [Job("micropython", "pair", c, s, "total") for c in [*kernels, BASELINE, FLOOR]
              for s in SCENARIOS]
    if cpython:
        found += [Job("cpython", "mcu", c, "idle") for c in CPYTHON_CONTENDERS]
    return found


def board_jobs(contenders: list[str], kernels: list[str]) -> list[list[Job]]:
    """A board's jobs, one batch per contender (one board start each): the empty-pool
    pair (kernels and bytearray(100)) and the MCU mix, both scenarios, timed whole."""
    batches: list[list[Job]] = []
    for c in contenders:
        batch = [Job("micropython", "pair", p, s, "total") for s in SCENARIOS
                 for p in ([c, FLOOR] if c == BASELINE else [c])
                 if c in kernels or c == BASELINE]
        batch += [Job("micropython", "mcu", c, s, "total") for s in SCENARIOS]
        batches.append(batch)
    return batches


def parse_all(output: str) -> list[Result]:
    """The BENCH lines of one run's output, in order."""
    return [json.loads(line[len(PREFIX):]) for line in output.splitlines()
            if line.startswith(PREFIX)]


def parse(output: str) -> Result:
    """The (first) BENCH line of one run's output."""
    found = parse_all(output)
    if not found:
        raise ValueError("no BENCH line in the output")
    return found[0]


def _call(target: Any, runtime: str, code: str, what: str, timeout: float = 900
          ) -> list[Result]:
    if runtime == "cpython":
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, [LIBRARY, *APPS])))
        proc = subprocess.run([sys.executable, "-c", code], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    else:
        proc = target.run(code, capture=True, timeout=timeout)
    try:
        if proc.returncode:
            raise ValueError(f"exit status {proc.returncode}")
        found = parse_all(proc.stdout)
        if not found:
            raise ValueError("no BENCH line in the output")
    except ValueError as exc:
        raise SystemExit(f"chunkalloc bench: {what} on {runtime} failed ({exc}):\n"
                         f"{(proc.stdout or '')[-3000:]}") from None
    return found


def probe(target: Any) -> Result:
    """What the target offers: its kernels (chunkalloc.KERNELS), contenders, free heap."""
    return _call(target, "micropython", "import bench\nbench.probe()", "the probe", 300)[0]


def run_job(job: Job, target: Any, code: str) -> Result:
    result = _call(target, job.runtime, code, f"{job.workload}/{job.contender}")[0]
    result["runtime"] = job.runtime
    return result


def run_batch(batch: list[Job], target: Any, steps: int, seed: int, pool_bytes: int,
              first: bool) -> list[Result]:
    """One board call running a batch of jobs in order; a fresh board first when the
    target can start one (every batch but the first, which found the board fresh)."""
    restart = getattr(target, "restart", None)
    if not first and restart is not None:
        restart()
    code = "import bench\n" + "\n".join(job.call(steps, seed, pool_bytes) for job in batch)
    found = _call(target, "micropython", code,
                  f"{'+'.join(sorted({j.workload for j in batch}))}/{batch[0].contender}")
    if len(found) != len(batch):
        raise SystemExit(f"chunkalloc bench: {len(found)} results for {len(batch)} jobs")
    for result in found:
        result["runtime"] = "micropython"
    return found


def median_run(found: list[Result]) -> Result:
    """Of repeated runs of one job, the one of median total time (efficiency runs
    are deterministic: the first)."""
    if found[0]["workload"] == "efficiency":
        return found[0]
    chosen = sorted(found, key=total_ns)[len(found) // 2]
    chosen["repeats"] = len(found)
    return chosen


def main_op(result: Result) -> str:
    return "realloc" if result["workload"] == "realloc" else "alloc"


def total_ns(result: Result) -> float:
    if "total_ns" in result:
        return result["total_ns"]
    return result[main_op(result)].get("total", 0.0) + result["free"].get("total", 0.0)


def ops(result: Result) -> int:
    """Operations in the total: pairs for the pair workload, else calls (alloc or
    realloc, and free)."""
    if result["workload"] == "pair":
        return result["alloc"]["n"]
    return result[main_op(result)]["n"] + result["free"]["n"]


def op_name(result: Result) -> str:
    return {"pair": "alloc+free", "realloc": "realloc"}.get(result["workload"], "alloc|free")


def key(result: Result) -> tuple[str, str, str]:
    return result["runtime"], result["workload"], result.get("scenario", "")


def add_ratios(results: list[Result]) -> None:
    """Each timed result gets vs_bytearray: its total time (and p99.9 latency, when timed
    op by op) over bytearray(n)'s on the same workload, runtime and GC scenario."""
    base = {key(r): r for r in results if r["contender"] == BASELINE}
    for r in results:
        b = base.get(key(r))
        if b is None or r["workload"] == "efficiency":
            continue
        op = main_op(r)
        r["vs_bytearray"] = {"total": total_ns(r) / total_ns(b) if total_ns(b) else None}
        if "p999" in r[op] and "p999" in b[op]:
            r["vs_bytearray"]["p999"] = r[op]["p999"] / b[op]["p999"] if b[op]["p999"] else None


def add_floor_ratios(results: list[Result]) -> None:
    """Each pair result gets vs_floor: its total time over the floor's (two native calls
    that return at once) in the same scenario and run."""
    floor = {key(r): r for r in results if r["contender"] == FLOOR}
    for r in results:
        f = floor.get(key(r))
        if r["workload"] == "pair" and f is not None:
            r["vs_floor"] = total_ns(r) / total_ns(f) if total_ns(f) else None


def floor_lines(results: list[Result], instructions: bool) -> list[str]:
    """The pair beside its floor: each contender's cost per pair and its multiple of the
    floor's, idle and loaded."""
    pairs = [r for r in results if r["workload"] == "pair" and "vs_floor" in r]
    if not pairs:
        return []
    unit = "instructions" if instructions else "µs"

    def cost(r: Result) -> str:
        return (f"{r['instructions']['per_op']:,.0f}" if instructions
                else f"{total_ns(r) / ops(r) / 1000:.3f}")

    lines = [f"alloc+free pair beside its floor (two calls of a native function stored on an "
             f"instance, returning at once: round(100, 1), round(h)), {unit} per pair:"]
    for r in pairs:
        lines.append(f"  {r['contender']:>12} {r['scenario']:>6}  {cost(r):>8}  "
                     f"{_f(r['vs_floor'])} × floor")
    return lines


def add_instructions(results: list[Result], scale: float) -> None:
    """On a board that counts instructions (QEMU -icount shift=0: 1 instruction = 1 ns of
    board time), each timed result's totals in instructions; scale corrects a board
    whose ticks run slow."""
    for r in results:
        if r["workload"] == "efficiency":
            continue
        total = total_ns(r) * scale
        r["instructions"] = {"total": round(total), "per_op": total / ops(r) if ops(r) else None,
                             "harness": round(r.get("harness_ns", 0) * scale)}
        if r["workload"] != "pair" and r["alloc"]["n"]:
            r["instructions"]["per_request"] = total / (r["alloc"]["n"] + r["failures"])


def ops_per_second(result: Result) -> float:
    return ops(result) * 1e9 / total_ns(result) if total_ns(result) else float("inf")


def _f(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def latency_table(results: list[Result]) -> list[str]:
    """Op-by-op latencies in µs; ops/s over alloc (or realloc) and free together; ratios
    of total time and of p99.9 alloc latency to bytearray(n)'s in the same scenario."""
    head = ("workload", "contender", "runtime", "GC heap", "op", "median", "mean", "p99",
            "p99.9", "max", "ops/s", "fails", "total ×ba", "p99.9 ×ba")
    rows: list[tuple[str, ...]] = []
    for r in results:
        if r["workload"] == "efficiency" or "median" not in r[main_op(r)]:
            continue
        op = main_op(r)
        ratio = r.get("vs_bytearray", {})
        s = r[op]
        rows.append((r["workload"], r["contender"], r["runtime"], r.get("scenario", ""), op,
                     *(f"{s[k] / 1000:.2f}" for k in ("median", "mean", "p99", "p999", "max")),
                     f"{ops_per_second(r):,.0f}", str(r["failures"]),
                     *(_f(ratio.get(k)) for k in ("total", "p999"))))
        s = r["free"]
        if s["n"]:  # ops/s, failures and ratios are the run's: on the row above
            rows.append(("", "", "", "", "free",
                         *(f"{s[k] / 1000:.2f}" for k in ("median", "mean", "p99", "p999", "max")),
                         "", "", "", ""))
    if not rows:
        return []
    lines = aligned([head, *rows], rule=True)
    clocks: dict[str, str] = {}
    for r in results:
        if r["workload"] != "efficiency" and "median" in r[main_op(r)]:
            clocks.setdefault(r["runtime"], f"{r['clock']} ({r['clock_resolution_ns']} ns)")
    lines.append("latencies in µs, each operation timed on its own with "
                 + "; ".join(f"{clock} on {runtime}" for runtime, clock in clocks.items()))
    return lines


def side_by_side(results: list[Result], instructions: bool, cycles: bool = False) -> list[str]:
    """Per operation cost and the ratios to bytearray(n), the idle GC heap's beside the
    loaded one's, each ratio taken within its own scenario of the same run."""
    rows: dict[tuple[str, str, str], dict[str, Result]] = {}
    for r in results:
        if r["workload"] != "efficiency":
            rows.setdefault((r["workload"], r["contender"], r["runtime"]), {})[r["scenario"]] = r
    unit = ("cycles/op" if cycles else "instr/op") if instructions else "µs/op"
    with_p999 = any("p999" in r.get("vs_bytearray", {}) for r in results)
    per = ("ops", unit, "total ×ba") + (("p99.9 ×ba",) if with_p999 else ())
    head = ("workload", "contender", "runtime", "op",
            *(f"{s} {h}" if k == 0 else h for s in SCENARIOS for k, h in enumerate(per)))
    body: list[tuple[str, ...]] = []
    for (workload, contender, runtime), by in rows.items():
        cells: list[str] = []
        op = ""
        for s in SCENARIOS:
            r = by.get(s)
            if r is None:
                cells += ["-"] * len(per)
                continue
            op = op_name(r)
            cost = (f"{r['instructions']['per_op']:,.0f}" if instructions
                    else f"{total_ns(r) / ops(r) / 1000:.3f}" if ops(r) else "-")
            ratio = r.get("vs_bytearray", {})
            cells += [f"{ops(r):,}", cost, _f(ratio.get("total"))]
            if with_p999:
                cells.append(_f(ratio.get("p999")))
        body.append((workload, contender, runtime, op, *cells))
    if not body:
        return []
    lines = ["idle GC heap (nothing else live) beside a loaded one (live data the size of the "
             "pool, a collection every pool's worth allocated); ×ba: over bytearray(n) in the "
             "same scenario and run"]
    lines += aligned([head, *body], rule=True)
    if cycles:
        lines.append("cycles of rp2040js' idealised Cortex-M0+ model (board µs x 125 at 125 MHz; "
                     "flash reads take 1 cycle, no cache effects: a deterministic stand-in, not a "
                     "real Pico's timing), net of the benchmark loop's own bookkeeping; an op is "
                     "one alloc or free call (alloc+free: one pair)")
    elif instructions:
        lines.append("instructions counted by QEMU -icount shift=0 (1 instruction = 1 ns of "
                     "board time; instructions are not cycles), net of the benchmark loop's "
                     "own bookkeeping; an op is one alloc or free call (alloc+free: one pair)")
    else:
        lines.append("µs/op: total time over operations (alloc or free calls; alloc+free: "
                     "one pair)")
    return lines


def table(results: list[Result], instructions: bool = False, cycles: bool = False) -> str:
    """The terminal report: op-by-op latencies (unix port), the scenarios side by side,
    heap efficiency."""
    lines = latency_table(results)
    both = side_by_side(results, instructions, cycles)
    if lines and both:
        lines.append("")
    lines += both
    floors = floor_lines(results, instructions)
    if floors:
        lines.append("")
        lines += floors
    eff = [r for r in results if r["workload"] == "efficiency"]
    if eff:
        lines.append("")
        lines.append("heap efficiency at the first failure (live requested bytes / heap bytes):")
        for r in eff:
            runs = ", ".join(f"{p:.1f}" for p in r["runs"])
            lines.append(f"  {r['contender']:>12}  {r['efficiency']:5.1f} %   (runs: {runs})")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "cpython": platform.python_version()}


def tick_scale(target: Any) -> float:
    board = getattr(target, "board", None)
    connect: dict[str, Any] = getattr(board, "connect", None) or {}
    return TICK_SCALE.get(str(connect.get("micropython_board", "")), 1.0)


def run(args: argparse.Namespace) -> int:
    on_board = args.board != "unix" or args.port is not None
    sizes = BOARD if on_board else UNIX
    if args.quick:
        steps, pool_kib = 1000, (16 if on_board else 64)
    else:
        steps = sizes["steps"] if args.steps is None else args.steps
        pool_kib = sizes["pool_kib"] if args.pool_kib is None else args.pool_kib
    if steps < 1 or pool_kib < 1 or args.repeat < 1:
        raise SystemExit("chunkalloc bench: --steps, --pool-kib and --repeat must be >= 1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    micropython = getattr(args, "micropython", None)
    if on_board:
        from .boards import load_board
        emulated = load_board(args.board).emulated and args.port is None
        target = open_target(args.board, args.port, icount=emulated, micropython=micropython)
    else:
        target = open_target(args.board, args.port)
    cycles = bool(getattr(target, "counts_cycles", False))
    counting = bool(getattr(target, "counts_instructions", False)) or cycles
    started = time.monotonic()
    pool_bytes = pool_kib * 1024
    runs: dict[Job, list[Result]] = {}
    if on_board:
        batches = board_jobs(["bytearray"], [])  # with the probe, on the board as it booted
        code = ("import bench\nbench.probe()\n"
                + "\n".join(j.call(steps, args.seed, pool_bytes) for j in batches[0]))
        found = _call(target, "micropython", code, "the probe and bytearray")
        offer, first = found[0], found[1:]
        for job, result in zip(batches[0], first):
            result["runtime"] = "micropython"
            runs.setdefault(job, []).append(result)
        contenders = [c for c in offer["contenders"] if c != BASELINE]
        todo = [b for _ in range(args.repeat) for b in board_jobs(contenders, offer["kernels"])]
        todo += [b for _ in range(args.repeat - 1) for b in batches]
        for batch in tqdm(todo, desc="bench", unit="board", disable=None):
            for job, result in zip(batch, run_batch(batch, target, steps, args.seed,
                                                    pool_bytes, False)):
                runs.setdefault(job, []).append(result)
        count = len(todo) + 1
    else:
        offer = probe(target)
        todo = [job for _ in range(args.repeat)
                for job in jobs(offer["contenders"], offer["kernels"], args.cpython)]
        for job in tqdm(todo, desc="bench", unit="run", disable=None):  # repeats interleaved
            runs.setdefault(job, []).append(
                run_job(job, target, job.code(steps, args.seed, pool_bytes)))
        count = len(todo)
    order = [*offer["contenders"], FLOOR, *CPYTHON_CONTENDERS]
    results = sorted((median_run(found) for found in runs.values()),
                     key=lambda r: (r["runtime"] != "micropython", WORKLOADS.index(r["workload"]),
                                    order.index(r["contender"]),
                                    (*SCENARIOS, "").index(r.get("scenario", ""))))
    add_ratios(results)
    add_floor_ratios(results)
    if counting:
        add_instructions(results, tick_scale(target))
    runtime = time.monotonic() - started
    report = {
        "command": f"chunkalloc bench --board {args.board} --steps {steps} --pool-kib "
                   f"{pool_kib} --seed {args.seed} --repeat {args.repeat}"
                   + ("" if args.cpython or on_board else " --no-cpython"),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "runtime_s": round(runtime, 1), "board": args.board, "machine": machine(),
        "target": {k: offer.get(k) for k in ("machine", "python", "mem_free", "kernels")},
        "kernels": offer["kernels"], "contenders": offer["contenders"],
        "scenarios": list(SCENARIOS), "counts_instructions": counting,
        "count_unit": ("cycles" if cycles else "instructions") if counting else None,
        "tick_scale": tick_scale(target) if counting else None,
        "steps": steps, "pool_bytes": pool_bytes, "seed": args.seed,
        "repeat": args.repeat,
        "results": results,
    }
    write_text_atomically(out / "bench.json", json.dumps(report, indent=1) + "\n")
    plots: list[Path] = []
    if not on_board:
        from . import benchplot  # matplotlib loads only when plotting

        for w, op in (("seed", "alloc"), ("mcu", "alloc"), ("realloc", "realloc")):
            for s in SCENARIOS:
                name = f"latency_{w}.png" if s == "loaded" else f"latency_{w}_{s}.png"
                plots.append(benchplot.latency_cdf(results, w, op, "micropython", out / name, s))
        if args.cpython:
            plots.append(benchplot.latency_cdf(results, "mcu", "alloc", "cpython",
                                               out / "latency_mcu_cpython.png", "idle"))
        plots.append(benchplot.efficiency_bars(results, out / "efficiency.png"))
    print(table(results, counting, cycles))
    where = f" on {offer.get('machine')}" if on_board else ""
    print(f"\n{count} {'board starts' if on_board else 'runs'}{where} in {runtime:.1f} s; "
          f"wrote {out / 'bench.json'}" + "".join(", " + p.name for p in plots))
    return 0
