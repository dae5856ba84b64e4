"""`chunkalloc demo` (what `make demo` runs) on the unix port: it finishes, checks its pool
and prints the heap map and counters."""

from __future__ import annotations

from chunkalloc_host.cli import main
from chunkalloc_host.natmod import unix_folder


def test_demo_command_runs_heap_locked_and_prints_map_and_counters(capfd) -> None:
    assert main(["demo", "--seconds", "0.5"]) == 0
    out = capfd.readouterr().out
    kernel = "c" if unix_folder() else "viper"  # the C kernels where they can be built
    assert f"{kernel} path, heap locked" in out
    assert "0 bytes from the GC heap" in out and "check() ok" in out
    assert "heap map mid-run" in out and "end-map" in out
