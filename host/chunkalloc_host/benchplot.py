"""PNG plots of `chunkalloc bench` results, drawn with matplotlib's Agg backend."""

# Strict, less one rule here: matplotlib's (and numpy's) own stubs leave **kwargs untyped,
# so every call on a figure or axes reads as partially unknown; all else is checked.
# pyright: reportUnknownMemberType=false

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

Result = dict[str, Any]


def latency_cdf(results: list[Result], workload: str, op: str, runtime: str,
                path: Path) -> Path:
    """One line per contender: the share of `op` calls that finished within x µs.
    Calls under one clock tick are drawn at half a tick (a log axis has no 0)."""
    fig, ax = plt.subplots(figsize=(8, 5))
    clock = ""
    for r in results:
        if r["workload"] != workload or r["runtime"] != runtime or not r.get(op, {}).get("n"):
            continue
        floor = r["clock_resolution_ns"] / 2
        clock = f"{r['clock']}, {r['clock_resolution_ns']} ns resolution"
        points = [(p, ns) for p, ns in r[op]["cdf"] if 0 < p < 1]
        ax.step([max(ns, floor) / 1000 for _, ns in points], [p for p, _ in points],
                where="post", label=r["contender"])
    ax.set_xscale("log")
    # logit: the median and the tail (p99, p99.9: GC pauses) both get room
    ax.set_yscale("logit", nonpositive="clip")
    ax.set_ylim(0.01, 0.9999)
    ax.set_yticks([0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999])
    ax.set_yticklabels(["1 %", "10 %", "50 %", "90 %", "99 %", "99.9 %", "99.99 %"])
    ax.minorticks_off()
    ax.set_xlabel(f"{op} latency, µs (log scale; single calls timed with {clock})")
    ax.set_ylabel("share of calls at or below (logit scale)")
    ax.set_title(f"{op} latency CDF: workload {workload!r} on {runtime}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def efficiency_bars(results: list[Result], path: Path) -> Path:
    """Heap efficiency at the first failure, one bar per contender (mean of runs)."""
    rows = [r for r in results if r["workload"] == "efficiency"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = [r["contender"] for r in rows]
    values = [r["efficiency"] for r in rows]
    bars = ax.bar(names, values, color="tab:blue")
    ax.bar_label(bars, fmt="%.1f %%")
    ax.axhline(90, color="tab:red", linestyle="--", linewidth=1, label="target 90 %")
    ax.set_ylim(0, 100)
    ax.set_ylabel("live requested bytes / heap bytes, %")
    ax.set_title("Heap efficiency at the first failed request (MCU mix)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
