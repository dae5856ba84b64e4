"""The .mpy file format as far as loading goes: header, version, arch.

A .mpy file starts with four bytes: b"M", the format version, a flags byte
(arch << 2 | sub-version) and the small-int width. A firmware says what it loads in
sys.implementation._mpy: version = v & 0xff, sub-version = v >> 8 & 3,
arch = v >> 10 & 0xF. It loads a file when the versions are equal, the file's
sub-version is not newer, and the file's arch is its own (or the file has no native code).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ARCHS = [None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
         "armv7emdp", "xtensa", "xtensawin", "rv32imc", "rv64imc"]

# Thumb firmware loads native code for its own arch and the older Thumb archs down to
# armv6m (py/persistentcode.h, MPY_FEATURE_ARCH_TEST): an armv7m board runs armv6m files.
THUMB = ARCHS[ARCHS.index("armv6m"):ARCHS.index("armv7emdp") + 1]

# The MicroPython release that first loads each .mpy (version, sub-version).
FIRST_RELEASE = {(6, 1): "1.20", (6, 2): "1.22", (6, 3): "1.23"}


@dataclass(frozen=True)
class MpyFormat:
    version: int
    sub_version: int
    arch: str | None

    def __str__(self) -> str:
        return f"mpy v{self.version}.{self.sub_version} ({self.arch or 'no native code'})"


def read_header(data: bytes, name: str = "file") -> MpyFormat:
    """The format of a .mpy file from its first bytes; ValueError naming the byte that is wrong."""
    if len(data) < 4:
        raise ValueError(f"{name}: {len(data)} bytes, too short for a .mpy header (4 bytes)")
    if data[0] != ord("M"):
        raise ValueError(f"{name}: byte 0 is {data[0]:#04x}, not 'M': not a .mpy file")
    arch = data[2] >> 2
    if arch >= len(ARCHS):
        raise ValueError(f"{name}: byte 2 names arch {arch}, which does not exist")
    return MpyFormat(data[1], data[2] & 3, ARCHS[arch])


def read_file_header(path: Path) -> MpyFormat:
    with open(path, "rb") as f:
        return read_header(f.read(4), str(path))


def firmware_format(sys_mpy: int) -> MpyFormat:
    """What a firmware loads, from its sys.implementation._mpy."""
    arch = sys_mpy >> 10 & 0xF
    return MpyFormat(sys_mpy & 0xFF, sys_mpy >> 8 & 3, ARCHS[arch] if arch < len(ARCHS) else f"arch {arch}")


def loads_arch(firmware: str | None, built: str) -> bool:
    """Whether a firmware of arch firmware loads native code built for arch built."""
    if firmware in THUMB and built in THUMB:
        return THUMB.index(built) <= THUMB.index(firmware)
    return built == firmware


def incompatibility(built: MpyFormat, firmware: MpyFormat | None) -> str | None:
    """Why firmware cannot load files of format built (with what to do), or None if it can."""
    if firmware is None:
        return ("this firmware cannot load .mpy files at all (no sys.implementation._mpy): "
                "use a board definition that sends source, or a newer firmware")
    if built.version != firmware.version or built.sub_version > firmware.sub_version:
        need = FIRST_RELEASE.get((built.version, built.sub_version), "a newer release")
        return (f"the build is {built} but the firmware loads {firmware}: "
                f"flash MicroPython {need} or later")
    if built.arch is not None and not loads_arch(firmware.arch, built.arch):
        return (f"the build's native code is for {built.arch} but the firmware is {firmware.arch}: "
                f"pick the --board whose arch is {firmware.arch}")
    return None
