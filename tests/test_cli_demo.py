"""`chunkalloc demo` (what `make demo` runs) on the unix port: it finishes, checks its pool
and prints the heap map and counters."""

from __future__ import annotations

from chunkalloc_host.cli import main


def test_demo_command_runs_heap_locked_and_prints_map_and_counters(capfd) -> None:
    assert main(["demo", "--seconds", "0.5"]) == 0
    out = capfd.readouterr().out
    assert "viper path, heap locked" in out
    assert "0 bytes from the GC heap" in out and "check() ok" in out
    assert "heap map mid-run" in out and "end-map" in out
