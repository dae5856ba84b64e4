"""The C kernels (firmware/c/) as a MicroPython dynamic native module, chunkalloc_c.mpy.

`build_natmod(source, arch, out)` runs MicroPython's py/dynruntime.mk (make with
MPY_DIR=source ARCH=arch) in a scratch copy of firmware/c/, so neither the checkout nor
the MicroPython tree is written to, and copies the .mpy to out. Needs make, the arch's
gcc on PATH (`compiler(arch)`) and pyelftools (tools/mpy_ld.py imports it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import C_SOURCE

SOURCE = C_SOURCE
MODULE = "chunkalloc_c"
# the gcc each arch of py/dynruntime.mk calls (xtensawin needs Espressif's: not here)
COMPILERS = {"x64": "gcc", "x86": "gcc", "armv6m": "arm-none-eabi-gcc",
             "armv7m": "arm-none-eabi-gcc", "armv7emsp": "arm-none-eabi-gcc",
             "armv7emdp": "arm-none-eabi-gcc", "rv32imc": "riscv64-unknown-elf-gcc",
             "rv64imc": "riscv64-unknown-elf-gcc", "xtensawin": "xtensa-esp32-elf-gcc",
             "xtensa": "xtensa-lx106-elf-gcc"}


class NatmodError(Exception):
    pass


def compiler(arch: str | None) -> str | None:
    """The compiler arch needs, or None when it is not on PATH (or arch has none)."""
    name = COMPILERS.get(arch or "")
    return name if name and shutil.which(name) else None


def why_not(arch: str | None) -> str | None:
    """Why the C kernels cannot be built for arch here, or None if they can."""
    if arch not in COMPILERS:
        return f"no native-module support for arch {arch}"
    if not compiler(arch):
        return f"{COMPILERS[arch]} is not on PATH"
    if not shutil.which("make"):
        return "make is not on PATH"
    if importlib.util.find_spec("elftools") is None:  # tools/mpy_ld.py imports it
        return "pyelftools is not installed (pip install pyelftools)"
    return None


def build_natmod(source: Path, arch: str, out: Path) -> Path:
    """Build chunkalloc_c.mpy for arch from the MicroPython tree source into folder out."""
    reason = why_not(arch)
    if reason:
        raise NatmodError(f"cannot build {MODULE}.mpy for {arch}: {reason}")
    if not (Path(source) / "py" / "dynruntime.mk").exists():
        raise NatmodError(f"{source} is no MicroPython source tree (no py/dynruntime.mk)")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chunkalloc-natmod-") as tmp:
        work = Path(tmp) / "c"
        shutil.copytree(SOURCE, work)
        command = ["make", f"MPY_DIR={Path(source).resolve()}", f"ARCH={arch}",
                   f"BUILD={work / 'build'}", f"PYTHON={sys.executable}"]
        env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
        result = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300, env=env)
        built = work / f"{MODULE}.mpy"
        if result.returncode != 0 or not built.exists():
            raise NatmodError(f"building {MODULE}.mpy for {arch} failed:\n"
                              f"{(result.stdout + result.stderr).strip()[-3000:]}")
        target = out / f"{MODULE}.mpy"
        shutil.copyfile(built, target)
    return target


def source_hash() -> str:
    """A digest of firmware/c/: a changed kernel is built anew."""
    digest = hashlib.sha256()
    for path in sorted(SOURCE.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def available_source(spec: str | None = None) -> Path | None:
    """A MicroPython tree to build against without fetching anything: spec or
    $CHUNKALLOC_MICROPYTHON (mpsource), else a tree already in mpsource's cache, else None."""
    from . import mpsource

    if spec or os.environ.get(mpsource.ENV):
        return mpsource.micropython_source(spec)
    trees = sorted(p for p in mpsource.cache_dir().glob("micropython-*")
                   if p.is_dir() and mpsource.is_source_tree(p))
    return trees[0] if trees else None


def cached_natmod(source: Path, arch: str) -> Path:
    """chunkalloc_c.mpy for arch, built once per kernel source and MicroPython tree."""
    from . import mpsource

    key = f"{source_hash()}-{hashlib.sha256(str(Path(source).resolve()).encode()).hexdigest()[:8]}"
    folder = mpsource.cache_dir() / "natmod" / key / arch
    target = folder / f"{MODULE}.mpy"
    with mpsource.locked(f"natmod-{key}-{arch}"):
        if not target.exists():
            build_natmod(source, arch, folder)
    return target


_UNIX: list[Path | None] = []


def unix_folder() -> Path | None:
    """The folder holding chunkalloc_c.mpy for the unix port (x64), built once and
    cached; None where it cannot be built here (the unix port then runs viper)."""
    if not _UNIX:
        try:
            source = available_source()
            _UNIX.append(cached_natmod(source, "x64").parent if source else None)
        except (NatmodError, ValueError, OSError):
            _UNIX.append(None)
    return _UNIX[0]
