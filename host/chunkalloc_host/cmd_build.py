"""`chunkalloc build --board NAME [--out DIR]`: what a board installs, in build/NAME.

- the library (firmware/chunkalloc/*.py: the interface, its kernels, the heap map and
  trace modules) compiled by mpy-cross for the board's arch (viper code inside), and
  nothing else: the demo, the benchmark and the tests are not installed on a board;
- chunkalloc_c.mpy: the C kernels as a dynamic native module, prebuilt (natmod.natmod_for:
  the wheel carries x64, armv6m, armv7m and rv32imc), or built from --micropython; ESP32
  (xtensawin) keeps viper; `build` says in one line when it leaves it out and why;
- chunkpool.mpy: the static pool sized for the board (--chunks/--chunk-size override);
- package.json for `mpremote mip install` and manifest.py for freezing into a firmware,
  with the .py sources they name under src/.

An emulated board (qemu-*) gets the build of the board it stands for (the RP2040's armv6m
files, the ESP32-C3's rv32imc files) with a pool sized for its own heap.

`compile_apps` adds the demo and the benchmark to a folder that host commands serve to a
board by mount (test, bench, demo, map, trace); they never reach package.json or manifest.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from . import APPS, LIBRARY, output_dir
from .boards import Board, load_board
from .mpy import read_file_header
from .natmod import MODULE as NATMOD, SOURCE, natmod_for
from .poolgen import POOL_MODULE, check_pool, pool_module

HELP = "compile the firmware for a board: .mpy files, package.json, manifest.py, a sized pool"
NOT_MODULES = {"manifest.py", "chunkalloc_pure_host.py"}  # library files that are not modules for the board (the second: CPython only)
PACKAGE_VERSION = "0.1.0"
# small-int width of each arch's firmware: mpy-cross assumes 31 unless told
SMALL_INT_BITS = {"x64": 63, "rv64imc": 63}


class BuildError(Exception):
    pass


def firmware_modules() -> list[Path]:
    """The modules a board gets: the library's, firmware/chunkalloc/*.py but its manifest."""
    return sorted(p for p in LIBRARY.glob("*.py") if p.name not in NOT_MODULES)


def app_modules() -> list[Path]:
    """What host commands run on a board beside the library: the demo and the benchmark."""
    return sorted(p for folder in APPS for p in folder.glob("*.py"))


def mpy_cross(source: Path, out: Path, arch: str, optimise: int = 0) -> None:
    """Compile source to out for arch; optimise 3 (the library) drops asserts and the
    line numbers of tracebacks, which take about a tenth of a module's bytecode in RAM."""
    command = [sys.executable, "-m", "mpy_cross", f"-march={arch}", "-o", str(out), str(source)]
    if optimise:
        command.insert(3, f"-O{optimise}")
    if arch in SMALL_INT_BITS:
        command.insert(4, f"-msmall-int-bits={SMALL_INT_BITS[arch]}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise BuildError(f"mpy-cross -march={arch} failed on {source.name}:\n{result.stderr.strip()}")


def build(board: Board, out: Path, chunks: int | None = None, chunk_size: int | None = None,
          notes: list[str] | None = None, micropython: str | None = None) -> list[Path]:
    """Write board's build into out (replacing it); the files a board installs, in order.
    Why the C kernels were left out, if they were, is appended to notes."""
    chunks = chunks or board.chunks
    chunk_size = chunk_size or board.chunk_size
    check_pool(chunks, chunk_size)
    if out.exists():
        shutil.rmtree(out)
    src = out / "src"
    src.mkdir(parents=True)
    if board.arch is None:
        raise BuildError(f"{board.name} has no .mpy arch: nothing to build")
    sources = {p.name: p.read_text() for p in firmware_modules()}
    sources[POOL_MODULE] = pool_module(chunks, chunk_size, board.name)
    for name, text in sources.items():
        (src / name).write_text(text)
    installed: list[Path] = []
    for name in sorted(sources):
        target = out / (name[:-3] + ".mpy")
        mpy_cross(src / name, target, board.arch, optimise=3)  # the library has no assert
        installed.append(target)
    natmod, why = natmod_for(board.arch, micropython)
    if natmod:
        installed.append(Path(shutil.copyfile(natmod, out / natmod.name)))
    elif notes is not None:
        notes.append(f"{NATMOD}.mpy (the C kernels) left out: {why}; the viper kernels serve")
    write_package_json(out / "package.json", [p.name for p in installed])
    write_manifest(out / "manifest.py", sorted(sources), board)
    return installed


def compile_apps(board: Board, folder: Path, sources: list[Path] | None = None) -> None:
    """The apps (or sources) as .mpy files for board's arch in folder (compiled here: a
    board's heap need not hold their parse trees)."""
    if board.arch is None:
        raise BuildError(f"{board.name} has no .mpy arch: nothing to build")
    for source in app_modules() if sources is None else sources:
        mpy_cross(source, folder / f"{source.stem}.mpy", board.arch)


def write_package_json(path: Path, names: list[str]) -> None:
    package = {"urls": [[name, name] for name in names], "deps": [], "version": PACKAGE_VERSION}
    path.write_text(json.dumps(package, indent=2) + "\n")


def write_manifest(path: Path, names: list[str], board: Board) -> None:
    lines = [f"# Freeze chunkalloc into a {board.name} firmware: in your board's manifest.py add",
             f"#     include(\"{path.resolve()}\")",
             f"metadata(description=\"chunkalloc for {board.name}\", version=\"{PACKAGE_VERSION}\")"]
    lines += [f"module(\"{name}\", base_path=\"src\")" for name in names]
    lines.append(f"# ({NATMOD}.mpy, a native module, cannot be frozen: for the C kernels in the image, build it "
                 f"with USER_C_MODULES={SOURCE / 'micropython.cmake'} (cmake ports: rp2, esp32) or "
                 f"USER_C_MODULES={SOURCE.parent} (make ports); else the viper kernels serve)")
    path.write_text("\n".join(lines) + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", default="unix", help="target board (see boards/); default unix")
    parser.add_argument("--out", type=Path, default=None, help="output folder; default build/BOARD")
    parser.add_argument("--micropython", metavar="DIR|TARBALL", default=None,
                        help="build the C kernels' native module from this MicroPython source "
                             "(default: the prebuilt one; else $CHUNKALLOC_MICROPYTHON or one cached)")
    add_pool_arguments(parser)


def add_pool_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chunks", type=int, default=None, help="pool chunks; default: the board's")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="pool chunk size in bytes (a power of two); default: the board's")


def run(args: argparse.Namespace) -> int:
    try:
        board = load_board(args.board)
        out = args.out or output_dir() / board.name
        notes: list[str] = []
        files = build(board, out, args.chunks, args.chunk_size, notes, args.micropython)
    except (ValueError, TypeError, BuildError) as exc:
        print(f"chunkalloc build: {exc}", file=sys.stderr)
        return 1
    for path in files:
        kind = str(read_file_header(path)) if path.suffix == ".mpy" else "source"
        print(f"{path.relative_to(out)}  {path.stat().st_size:6d} B  {kind}")
    for note in notes:
        print(note)
    print(f"built {board.name} into {out}: {len(files)} modules, package.json, manifest.py")
    return 0
