"""`chunkalloc bench`: firmware/bench.py on a target, every workload against every contender.

Each (workload, contender) pair runs as its own target call, so one process's heap never
colours another's timings; the CPython path (chunkalloc's pure kernels against CPython's
own bytearray) runs the MCU mix in a `python` subprocess. Results: a table on the
terminal, bench.json and PNG plots in --out.
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

from . import FIRMWARE
from .atomic import write_text_atomically
from .tables import aligned
from .target import add_target_arguments, open_target

HELP = "benchmark chunkalloc against bytearray(n) and a linked-list allocator: table, JSON, plots"

WORKLOADS = ("seed", "mcu", "realloc", "efficiency")
CONTENDERS = ("fast", "pure", "firstfit", "linked-list", "bytearray")
CPYTHON_CONTENDERS = ("pure", "bytearray")  # on the MCU mix
BASELINE = "bytearray"
PREFIX = "BENCH "
FILES = ("bench.py", "bench_workloads.py", "bench_linked.py", "xorshift.py")  # beside the deployed core

Result = dict[str, Any]


@dataclass(frozen=True)
class Job:
    runtime: str  # "micropython" (the target) or "cpython"
    workload: str
    contender: str

    def code(self, steps: int, seed: int, pool_bytes: int) -> str:
        return (f"import bench\nbench.run({self.workload!r}, {self.contender!r}, "
                f"{steps}, {seed}, {pool_bytes})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--out", default="build/bench", help="directory for bench.json and "
                        "the PNG plots (default build/bench)")
    parser.add_argument("--steps", type=int, default=20000,
                        help="requests per workload (default 20000)")
    parser.add_argument("--pool-kib", type=int, default=256,
                        help="pool size in KiB, 64 B chunks (default 256: 4,096 chunks)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every request stream")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 1,000 steps on a 64 KiB pool")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each pair N times and keep the run of median total time "
                        "(shared machines are noisy; default 1)")
    parser.add_argument("--no-cpython", dest="cpython", action="store_false",
                        help="skip the CPython runs")


def jobs(cpython: bool) -> list[Job]:
    found = [Job("micropython", w, c) for w in WORKLOADS for c in CONTENDERS
             if not (w == "efficiency" and c == BASELINE)]
    if cpython:
        found += [Job("cpython", "mcu", c) for c in CPYTHON_CONTENDERS]
    return found


def parse(output: str) -> Result:
    """The BENCH line of one run's output."""
    for line in output.splitlines():
        if line.startswith(PREFIX):
            return json.loads(line[len(PREFIX):])
    raise ValueError("no BENCH line in the output")


def install(target: Any) -> None:
    """Copy the benchmark modules onto a board target (the unix port reads firmware/
    directly); the core itself is installed by `chunkalloc deploy`."""
    if not hasattr(target, "put"):
        return
    done = target.put([FIRMWARE / name for name in FILES])
    if done.returncode:
        raise SystemExit("chunkalloc bench: could not copy the benchmark to the board: "
                         f"{(done.stdout or '').strip()[-300:]}")


def run_job(job: Job, target: Any, code: str) -> Result:
    if job.runtime == "cpython":
        env = dict(os.environ, PYTHONPATH=str(FIRMWARE))
        proc = subprocess.run([sys.executable, "-c", code], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    else:
        proc = target.run(code, capture=True, timeout=900)
    try:
        if proc.returncode:
            raise ValueError(f"exit status {proc.returncode}")
        result = parse(proc.stdout)
    except ValueError as exc:
        raise SystemExit(f"chunkalloc bench: {job.workload}/{job.contender} on {job.runtime} "
                         f"failed ({exc}):\n{proc.stdout[-3000:]}") from None
    result["runtime"] = job.runtime
    return result


def median_run(found: list[Result]) -> Result:
    """Of repeated runs of one pair, the one of median total time (efficiency runs
    are deterministic: the first)."""
    if found[0]["workload"] == "efficiency":
        return found[0]
    chosen = sorted(found, key=total_ns)[len(found) // 2]
    chosen["repeats"] = len(found)
    return chosen


def main_op(result: Result) -> str:
    return "realloc" if result["workload"] == "realloc" else "alloc"


def total_ns(result: Result) -> float:
    return result[main_op(result)].get("total", 0.0) + result["free"].get("total", 0.0)


def add_ratios(results: list[Result]) -> None:
    """Each timed result gets vs_bytearray: its total time and p99.9 latency over
    bytearray(n)'s on the same workload and runtime."""
    base = {(r["runtime"], r["workload"]): r for r in results if r["contender"] == BASELINE}
    for r in results:
        b = base.get((r["runtime"], r["workload"]))
        if b is None or r["workload"] == "efficiency":
            continue
        op = main_op(r)
        r["vs_bytearray"] = {
            "total": total_ns(r) / total_ns(b) if total_ns(b) else None,
            "p999": r[op]["p999"] / b[op]["p999"] if b[op].get("p999") else None,
        }


def ops_per_second(result: Result) -> float:
    ops = result[main_op(result)]["n"] + result["free"]["n"]
    return ops * 1e9 / total_ns(result) if total_ns(result) else float("inf")


def table(results: list[Result]) -> str:
    """The terminal table: latencies in µs; ops/s over alloc (or realloc) and free
    together; ratios of total time and of p99.9 alloc latency to bytearray(n)'s."""
    head = ("workload", "contender", "runtime", "op", "median", "mean", "p99", "p99.9", "max",
            "ops/s", "fails", "total ×ba", "p99.9 ×ba")
    rows: list[tuple[str, ...]] = []
    for r in results:
        if r["workload"] == "efficiency":
            continue
        op = main_op(r)
        ratio = r.get("vs_bytearray", {})
        s = r[op]
        rows.append((r["workload"], r["contender"], r["runtime"], op,
                     *(f"{s[k] / 1000:.2f}" for k in ("median", "mean", "p99", "p999", "max")),
                     f"{ops_per_second(r):,.0f}", str(r["failures"]),
                     *(f"{ratio[k]:.2f}" if ratio.get(k) else "-" for k in ("total", "p999"))))
        s = r["free"]
        if s["n"]:  # ops/s, failures and ratios are the run's: on the row above
            rows.append(("", "", "", "free",
                         *(f"{s[k] / 1000:.2f}" for k in ("median", "mean", "p99", "p999", "max")),
                         "", "", "", ""))
    lines = aligned([head, *rows], rule=True)
    clocks: dict[str, str] = {}
    for r in results:
        if r["workload"] != "efficiency":
            clocks.setdefault(r["runtime"], f"{r['clock']} ({r['clock_resolution_ns']} ns)")
    lines.append("latencies in µs, each operation timed on its own with "
                 + "; ".join(f"{clock} on {runtime}" for runtime, clock in clocks.items()))
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


def run(args: argparse.Namespace) -> int:
    steps, pool_kib = (1000, 64) if args.quick else (args.steps, args.pool_kib)
    if steps < 1 or pool_kib < 1 or args.repeat < 1:
        raise SystemExit("chunkalloc bench: --steps, --pool-kib and --repeat must be >= 1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = open_target(args.board, args.port)
    install(target)
    started = time.monotonic()
    todo = [job for _ in range(args.repeat) for job in jobs(args.cpython)]  # interleaved
    runs: dict[Job, list[Result]] = {}
    for job in tqdm(todo, desc="bench", unit="run", disable=None):
        runs.setdefault(job, []).append(run_job(job, target, job.code(steps, args.seed,
                                                                       pool_kib * 1024)))
    results = [median_run(found) for found in runs.values()]
    add_ratios(results)
    runtime = time.monotonic() - started
    report = {
        "command": f"chunkalloc bench --board {args.board} --steps {steps} --pool-kib "
                   f"{pool_kib} --seed {args.seed} --repeat {args.repeat}"
                   + ("" if args.cpython else " --no-cpython"),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "runtime_s": round(runtime, 1), "board": args.board, "machine": machine(),
        "steps": steps, "pool_bytes": pool_kib * 1024, "seed": args.seed,
        "repeat": args.repeat,
        "results": results,
    }
    write_text_atomically(out / "bench.json", json.dumps(report, indent=1) + "\n")

    from . import benchplot  # matplotlib loads only when plotting

    plots = [benchplot.latency_cdf(results, w, op, "micropython", out / f"latency_{w}.png")
             for w, op in (("seed", "alloc"), ("mcu", "alloc"), ("realloc", "realloc"))]
    if args.cpython:
        plots.append(benchplot.latency_cdf(results, "mcu", "alloc", "cpython",
                                           out / "latency_mcu_cpython.png"))
    plots.append(benchplot.efficiency_bars(results, out / "efficiency.png"))
    print(table(results))
    print(f"\n{len(todo)} runs in {runtime:.1f} s; wrote {out / 'bench.json'}, "
          + ", ".join(p.name for p in plots))
    return 0
