"""firmware.uf2 for the RP2040: what a Pico takes when dropped on its BOOTSEL drive.

The format (512-byte blocks of 256 payload bytes, each with its flash address, the block
number and count, and the RP2040 family id) is written by adafruit-uf2 (PyPI); `blocks()`
reads a file back for checking.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RP2040_FAMILY = 0xE48BFF56
FLASH_START = 0x10000000
MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)
FAMILY_FLAG = 0x2000
PAYLOAD = 256


@dataclass(frozen=True)
class Block:
    flags: int
    address: int
    size: int
    number: int
    count: int
    family: int
    payload: bytes


def write_uf2(binary: Path, out: Path) -> Path:
    """firmware.bin (flash from FLASH_START) as a UF2 file for the RP2040."""
    from adafruit_uf2 import uf2conv  # pyright: ignore[reportMissingTypeStubs]  # none published

    uf2conv.familyid = RP2040_FAMILY  # the library keeps its settings module-wide
    uf2conv.appstartaddr = FLASH_START
    convert: Callable[[bytes], bytes] = uf2conv.convert_to_uf2  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]  # untyped library
    out.write_bytes(convert(binary.read_bytes()))
    return out


def blocks(uf2: bytes) -> list[Block]:
    """The blocks of a UF2 file; ValueError when a block's magic numbers are wrong."""
    if len(uf2) % 512:
        raise ValueError(f"a UF2 file is made of 512-byte blocks: {len(uf2)} bytes")
    found: list[Block] = []
    for at in range(0, len(uf2), 512):
        block = uf2[at:at + 512]
        head = struct.unpack("<8I", block[:32])
        if head[:2] != MAGIC[:2] or struct.unpack("<I", block[508:])[0] != MAGIC[2]:
            raise ValueError(f"block {at // 512}: bad magic")
        flags, address, size, number, count, family = head[2:]
        found.append(Block(flags, address, size, number, count, family, block[32:32 + size]))
    return found
