"""Board definitions: one JSON file per target in boards/ (see boards/*.json).

A board says which mpy-cross arch its .mpy files need (None: source only), the oldest
MicroPython that loads them, a default pool that suits its free RAM, and how to reach it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import BOARDS
from .mpy import ARCHS


@dataclass(frozen=True)
class Board:
    name: str
    arch: str | None  # mpy-cross -march value; None: the board gets .py source
    min_firmware: tuple[int, ...]
    chunks: int
    chunk_size: int
    free_ram: int  # typical free heap in bytes after boot
    connect: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    @property
    def kind(self) -> str:
        """How the board is reached: local (unix port), serial, qemu or rp2040js."""
        return str(self.connect.get("kind", "serial"))

    @property
    def emulated(self) -> bool:
        """Started by us on demand: QEMU, or the real rp2 firmware on rp2040js."""
        return self.kind in ("qemu", "rp2040js")

    @property
    def pool_bytes(self) -> int:
        return self.chunks * self.chunk_size


def parse_version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        raise ValueError(f"version {text!r} is not of the form 1.23 or 1.23.0") from None


def board_names(folder: Path = BOARDS) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.json"))


def load_board(name: str, folder: Path = BOARDS) -> Board:
    path = folder / f"{name}.json"
    if not path.exists():
        raise ValueError(f"unknown board {name!r}: choose one of {', '.join(board_names(folder))}")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    try:
        board = Board(
            name=data["name"], arch=data["arch"],
            min_firmware=parse_version(data["min_firmware"]),
            chunks=data["pool"]["chunks"], chunk_size=data["pool"]["chunk_size"],
            free_ram=data["free_ram"], connect=data.get("connect", {}), notes=data.get("notes", ""),
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing field {exc.args[0]!r}") from None
    if board.name != name:
        raise ValueError(f"{path}: name {board.name!r} does not match the file name")
    if board.arch is not None and board.arch not in ARCHS:
        known = ", ".join(a for a in ARCHS if a is not None)
        raise ValueError(f"{path}: arch {board.arch!r} is not one of {known}")
    return board
