"""Host tooling for chunkalloc: the `chunkalloc` command and its helpers (CPython only)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
BOARDS = REPO / "boards"
