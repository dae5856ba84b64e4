"""The allocation trace file: what firmware/chunkalloc/chunkalloc_trace.py's dump() prints.

    chunkalloc-trace 1
    pool chunks=512 chunk_size=64 base=4096
    dropped 0
    a 100 4 0          alloc: size align result (the offset, or -1: no room)
    r 0 300 4 -1       realloc: offset new_size align result (new offset, or -1)
    f 0                free: offset
    end 3              the number of records, so a cut-off transfer is caught

base is the device heap's address mod 65536. Blank lines and lines starting with
# are ignored. Offsets are the device's. A bad file raises TraceError naming the
line (or, for bytes that are not ASCII, the byte offset).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_text_atomically

MAGIC = "chunkalloc-trace 1"
BASE_MOD = 0x10000


class TraceError(ValueError):
    """A trace file (or device output) that does not follow the format."""


@dataclass(frozen=True)
class Op:
    kind: str  # "a" alloc, "f" free, "r" realloc
    offset: int  # the device offset freed or resized; -1 for alloc
    size: int  # bytes requested (0 for free)
    align: int  # (0 for free)
    result: int  # the device's new offset, -1 when it found no room (0 for free)

    @property
    def failed(self) -> bool:
        return self.kind != "f" and self.result < 0


@dataclass
class Trace:
    chunks: int
    chunk_size: int
    base: int = 0
    dropped: int = 0
    ops: list[Op] = field(default_factory=list)

    @property
    def pool_bytes(self) -> int:
        return self.chunks * self.chunk_size

    def failures(self) -> list[int]:
        """Indexes of the ops that found no room on the device."""
        return [n for n, op in enumerate(self.ops) if op.failed]


def _power_of_two(n: int) -> bool:
    return n >= 1 and not n & (n - 1)


def _ints(words: list[str], where: str) -> list[int]:
    try:
        return [int(w) for w in words]
    except ValueError:
        raise TraceError(f"{where}: expected integers, got {' '.join(words)!r}") from None


def _fields(words: list[str], names: tuple[str, ...], where: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or key not in names:
            raise TraceError(f"{where}: unexpected {word!r}, expected {'=, '.join(names)}=")
        found[key] = _ints([value], where)[0]
    missing = [n for n in names if n not in found]
    if missing:
        raise TraceError(f"{where}: missing {', '.join(missing)}")
    return found


def _op(words: list[str], trace: Trace, where: str) -> Op:
    kind, args = words[0], words[1:]
    arity = {"a": 3, "f": 1, "r": 4}.get(kind)
    if arity is None:
        raise TraceError(f"{where}: unknown record {kind!r} (expected a, f, r or end)")
    if len(args) != arity:
        raise TraceError(f"{where}: record {kind!r} takes {arity} numbers, got {len(args)}")
    n = _ints(args, where)
    if kind == "f":
        op = Op("f", n[0], 0, 0, 0)
    elif kind == "a":
        op = Op("a", -1, n[0], n[1], n[2])
    else:
        op = Op("r", n[0], n[1], n[2], n[3])
    if op.kind != "a" and not _offset_ok(op.offset, trace):
        raise TraceError(f"{where}: offset {op.offset} is not a chunk in the pool")
    if op.kind != "f":
        if op.size < 1:
            raise TraceError(f"{where}: size must be >= 1, got {op.size}")
        if not _power_of_two(op.align):
            raise TraceError(f"{where}: align must be a power of two, got {op.align}")
        if op.result != -1 and not _offset_ok(op.result, trace):
            raise TraceError(f"{where}: result {op.result} is neither -1 nor a chunk in the pool")
    return op


def _offset_ok(offset: int, trace: Trace) -> bool:
    return 0 <= offset < trace.pool_bytes and offset % trace.chunk_size == 0


def parse(text: str, source: str = "<trace>") -> Trace:
    """The Trace in text; TraceError naming source and line if it is malformed."""
    lines = [(n, line.split()) for n, line in enumerate(text.splitlines(), 1)]
    lines = [(n, words) for n, words in lines if words and not words[0].startswith("#")]
    if not lines or " ".join(lines[0][1]) != MAGIC:
        n = lines[0][0] if lines else 1
        raise TraceError(f"{source}: line {n}: not a chunkalloc trace (expected {MAGIC!r})")
    header = lines[1:3]
    if len(header) < 2 or header[0][1][0] != "pool" or header[1][1][0] != "dropped":
        n = header[-1][0] if header else lines[0][0]
        raise TraceError(f"{source}: line {n}: expected 'pool ...' then 'dropped N' after {MAGIC!r}")
    (pn, pool), (dn, dropped) = header
    geometry = _fields(pool[1:], ("chunks", "chunk_size", "base"), f"{source}: line {pn}")
    trace = Trace(geometry["chunks"], geometry["chunk_size"], geometry["base"])
    if trace.chunks < 1 or not _power_of_two(trace.chunk_size):
        raise TraceError(f"{source}: line {pn}: need chunks >= 1 and a power-of-two chunk_size")
    if len(dropped) != 2:
        raise TraceError(f"{source}: line {dn}: expected 'dropped N'")
    trace.dropped = _ints(dropped[1:], f"{source}: line {dn}")[0]
    for i, (n, words) in enumerate(lines[3:], 3):
        where = f"{source}: line {n}"
        if words[0] == "end":
            if len(words) != 2 or _ints(words[1:], where)[0] != len(trace.ops):
                raise TraceError(f"{where}: 'end' says {' '.join(words[1:])} records,"
                                 f" the file has {len(trace.ops)}")
            if i + 1 < len(lines):
                raise TraceError(f"{source}: line {lines[i + 1][0]}: text after 'end'")
            return trace
        trace.ops.append(_op(words, trace, where))
    last = lines[-1][0]
    raise TraceError(f"{source}: line {last}: the trace stops without an 'end N' line (cut off?)")


def read(path: str | os.PathLike[str]) -> Trace:
    data = Path(path).read_bytes()
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as e:
        raise TraceError(f"{path}: byte {e.start}: not ASCII text (0x{data[e.start]:02x})") from None
    return parse(text, str(path))


def extract(output: str) -> str:
    """The trace text in a device's output (which may print other lines around it)."""
    lines = output.splitlines()
    try:
        start = lines.index(MAGIC)
    except ValueError:
        raise TraceError("the device printed no trace; its output ended:\n"
                         + "\n".join(lines[-15:])) from None
    for n in range(start, len(lines)):
        if lines[n].startswith("end "):
            return "\n".join(lines[start:n + 1]) + "\n"
    raise TraceError("the device's trace stops without an 'end N' line")


def dumps(trace: Trace) -> str:
    out = [MAGIC, f"pool chunks={trace.chunks} chunk_size={trace.chunk_size} base={trace.base}",
           f"dropped {trace.dropped}"]
    for op in trace.ops:
        if op.kind == "f":
            out.append(f"f {op.offset}")
        elif op.kind == "a":
            out.append(f"a {op.size} {op.align} {op.result}")
        else:
            out.append(f"r {op.offset} {op.size} {op.align} {op.result}")
    out.append(f"end {len(trace.ops)}")
    return "\n".join(out) + "\n"


def write(path: str | os.PathLike[str], trace: Trace) -> Path:
    """Write trace to path atomically."""
    return write_text_atomically(path, dumps(trace))
