"""The heap map text that firmware/chunkalloc/chunkalloc_map.py's show() prints, parsed.

    chunkalloc-map chunks=512 chunk_size=64 used=300 allocations=21
    00000: h=====h==h=.....h=======h===...
           (3 lines all free)
    07000: .....h===
    free=212 free_runs=4 largest_free=100 fragmentation=23.5
    end-map
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER = "chunkalloc-map"
LINE = 64  # chunks per line
FREE, HEAD, TAIL = ".", "h", "="


class MapError(ValueError):
    """Heap map text that does not follow the format."""


@dataclass
class HeapMap:
    chunks: int
    chunk_size: int
    used: int
    allocations: int
    kinds: str  # one of . h = per chunk
    free: int
    free_runs: int
    largest_free: int
    fragmentation: float

    def run_lengths(self) -> list[int]:
        """For each chunk, the length in chunks of the allocation it belongs to; 0 if free."""
        out = [0] * self.chunks
        i = 0
        while i < self.chunks:
            if self.kinds[i] != HEAD:
                i += 1
                continue
            j = i + 1
            while j < self.chunks and self.kinds[j] == TAIL:
                j += 1
            out[i:j] = [j - i] * (j - i)
            i = j
        return out


def _fields(text: str, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for word in text.split():
        key, eq, value = word.partition("=")
        if not eq:
            raise MapError(f"{where}: expected key=value, got {word!r}")
        out[key] = value
    return out


def parse(output: str, source: str = "<map>") -> HeapMap:
    """The first heap map in output (other lines around it are ignored)."""
    lines = output.splitlines()
    start = next((n for n, line in enumerate(lines) if line.startswith(HEADER + " ")), None)
    if start is None:
        raise MapError(f"{source}: no heap map (a line starting {HEADER!r}); the output ended:\n"
                       + "\n".join(lines[-15:]))
    where = f"{source}: line {start + 1}"
    try:
        head = {k: int(v) for k, v in _fields(lines[start][len(HEADER):], where).items()}
        chunks, chunk_size = head["chunks"], head["chunk_size"]
        used, allocations = head["used"], head["allocations"]
    except (KeyError, ValueError) as e:
        raise MapError(f"{where}: bad header ({e})") from None
    kinds: list[str] = []
    for n in range(start + 1, len(lines)):
        line, where = lines[n].strip(), f"{source}: line {n + 1}"
        if line.startswith("(") and line.endswith("lines all free)"):
            try:
                kinds.append(FREE * LINE * int(line[1:].split()[0]))
            except ValueError:
                raise MapError(f"{where}: bad folded line {line!r}") from None
        elif line.startswith("free="):
            kinds_text = "".join(kinds)
            if len(kinds_text) != chunks or set(kinds_text) - {FREE, HEAD, TAIL}:
                raise MapError(f"{where}: the map shows {len(kinds_text)} chunks of . h =,"
                               f" the header says {chunks}")
            try:
                m = _fields(line, where)
                heap_map = HeapMap(chunks, chunk_size, used, allocations, kinds_text,
                                   int(m["free"]), int(m["free_runs"]), int(m["largest_free"]),
                                   float(m["fragmentation"]))
            except (KeyError, ValueError) as e:
                raise MapError(f"{where}: bad metrics ({e})") from None
            if n + 1 >= len(lines) or lines[n + 1].strip() != "end-map":
                raise MapError(f"{source}: line {n + 2}: expected 'end-map'")
            return heap_map
        else:
            offset, colon, row = line.partition(": ")
            try:
                at = int(offset, 16)
            except ValueError:
                at = -1
            if not colon or at != len("".join(kinds)) * chunk_size:
                raise MapError(f"{where}: expected a map line for byte {len(''.join(kinds)) * chunk_size:05x},"
                               f" got {line[:40]!r}")
            kinds.append(row)
    raise MapError(f"{source}: the heap map stops without its metrics line (cut off?)")
