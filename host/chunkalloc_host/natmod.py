"""The C kernels (firmware/c/) as a MicroPython dynamic native module, chunkalloc_c.mpy.

`natmod_for(arch)` is what commands use: the prebuilt module (PREBUILT/ARCH, built from
the pinned MicroPython by prebuilt.py: in the wheel, or in a checkout's build/natmod) while
its stamp matches firmware/c/; else one built from a MicroPython source at hand (--micropython,
$CHUNKALLOC_MICROPYTHON or one already cached) and cached; else None and why, in one line.

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

from . import C_SOURCE, INSTALLED, PREBUILT

SOURCE = C_SOURCE
MODULE = "chunkalloc_c"
PREBUILT_ARCHS = ("x64", "armv6m", "armv7m", "rv32imc")  # what a wheel carries (make dist)
STAMP = "SOURCE"  # beside each prebuilt module: the source_hash() it was built from
FAILED = "FAILED"  # where one could not be built (a checkout's `make demo`): why, in one line
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
    """A digest of firmware/c/'s sources (not what a build left there): a changed kernel is
    built anew, and a prebuilt module whose stamp differs is not used."""
    digest = hashlib.sha256()
    for path in sorted(SOURCE.iterdir()):
        if path.is_file() and (path.suffix in (".c", ".h") or path.name == "Makefile"):
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


def prebuilt(arch: str, folder: Path = PREBUILT) -> Path | None:
    """The prebuilt chunkalloc_c.mpy for arch, if there is one built from today's firmware/c/."""
    target = folder / arch / f"{MODULE}.mpy"
    stamp = target.with_name(STAMP)
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == source_hash():
        return target
    return None


def _no_source(arch: str) -> str:
    """Why there is neither a prebuilt module for arch nor a source to build one from."""
    if arch == "xtensawin":
        return ("ESP32 (xtensawin) has no prebuilt C kernels "
                "(Espressif's xtensa-esp32-elf-gcc and --micropython would build them)")
    if INSTALLED and arch in PREBUILT_ARCHS:
        return (f"this wheel was built without the {arch} module (`make dist` builds every one); "
                "--micropython DIR|TARBALL builds one")
    if INSTALLED:
        return (f"no prebuilt module for {arch} (the wheel carries {', '.join(PREBUILT_ARCHS)}); "
                "--micropython DIR|TARBALL builds one")
    failed = PREBUILT / arch / FAILED
    if failed.is_file():
        return failed.read_text().strip()
    stale = "changed since" if (PREBUILT / arch / f"{MODULE}.mpy").exists() else "not built by"
    return (f"firmware/c/ {stale} `make natmods` for {arch}, and no MicroPython source to build "
            "it from (--micropython DIR|TARBALL, or set CHUNKALLOC_MICROPYTHON)")


def natmod_for(arch: str | None, micropython: str | None = None) -> tuple[Path | None, str]:
    """(chunkalloc_c.mpy for arch, "") or (None, why not, in one line): the prebuilt module
    unless micropython (a source to build from) is given or firmware/c/ changed since."""
    if arch is None:
        return None, "the board has no .mpy arch"
    if micropython is None:
        found = prebuilt(arch)
        if found is not None:
            return found, ""
    reason = why_not(arch)
    if reason is not None:
        return None, _no_source(arch) if arch == "xtensawin" else reason
    try:
        source = available_source(micropython)
        if source is None:
            return None, _no_source(arch)
        return cached_natmod(source, arch), ""
    except (NatmodError, ValueError, OSError) as exc:
        return None, str(exc).splitlines()[0]


_UNIX: list[tuple[Path | None, str]] = []


def unix_natmod() -> tuple[Path | None, str]:
    """(the folder holding chunkalloc_c.mpy for the unix port (x64), "") or (None, why not);
    looked up once per process (without it the unix port runs viper)."""
    if not _UNIX:
        found, why = natmod_for("x64")
        _UNIX.append((found.parent if found else None, why))
    return _UNIX[0]


def unix_folder() -> Path | None:
    """The folder holding chunkalloc_c.mpy for the unix port, or None (see unix_natmod)."""
    return unix_natmod()[0]
