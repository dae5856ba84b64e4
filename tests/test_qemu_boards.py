"""The emulated boards: MicroPython v1.28.0 built from source for QEMU (boards/qemu-*.json).

Each board's firmware is built once (cached), started on a free loopback port and stopped
by the tests. Without the toolchains or QEMU these tests skip, saying what to install; with
CI set they fail instead, so CI cannot pass without running them.
"""

from __future__ import annotations

import os
import re
import tarfile
from pathlib import Path

import pytest

from chunkalloc_host import EXAMPLES
from chunkalloc_host.boards import Board, load_board
from chunkalloc_host.cli import main
from chunkalloc_host.mpsource import ENV, micropython_source
from chunkalloc_host.qemufw import missing
from chunkalloc_host.target import BoardTarget, start_emulator
from chunkalloc_host.cmd_build import build

BOARDS = ["qemu-m3", "qemu-rv32"]  # (qemu-m0 retired: the RP2040 itself is emulated, tests/test_rp2040_emu.py)
# The stock MICROBIT firmware of the QEMU port (nRF51 Cortex-M0, SRAM raised): no native
# emitter, so it shows the fallback to the pure kernels on a firmware without native code
MICROBIT_STOCK = Board(
    name="microbit-stock", arch="armv6m", min_firmware=(1, 23), chunks=512, chunk_size=64,
    free_ram=131072, connect={
        "kind": "qemu", "micropython_board": "MICROBIT", "make": [],
        "qemu": ["qemu-system-arm", "-machine", "microbit", "-semihosting",
                 "-global", "nrf51-soc.flash-size=1048576", "-global", "nrf51-soc.sram-size=262144"],
        "tools": ["arm-none-eabi-gcc", "qemu-system-arm"],
        "apt": ["gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm"]})
RESULT = re.compile(r"^(PASS|FAIL|SKIP) (\S+) \[(\w+)\](.*)$", re.M)


def need(board_name: str | Board) -> None:
    """Skip (fail under CI) when the board cannot be built or started here."""
    problem = missing(load_board(board_name) if isinstance(board_name, str) else board_name)
    if problem is None:
        try:
            micropython_source()
        except ValueError as exc:
            problem = str(exc)
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the emulated boards: {problem}")
        pytest.skip(problem)


# -- the MicroPython source ------------------------------------------------------------


def fake_tree(root: Path) -> Path:
    (root / "py").mkdir(parents=True)
    (root / "py" / "mpconfig.h").write_text("/* MicroPython */\n")
    (root / "ports" / "qemu").mkdir(parents=True)
    return root


def test_a_source_folder_is_taken_as_it_is(tmp_path):
    tree = fake_tree(tmp_path / "mp")
    assert micropython_source(str(tree)) == tree


def test_a_tarball_is_extracted_into_the_cache_once(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tree = fake_tree(tmp_path / "micropython-1.28.0")
    tarball = tmp_path / "mp.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(tree, arcname=tree.name)
    monkeypatch.setenv(ENV, str(tarball))
    first = micropython_source()
    assert (first / "py" / "mpconfig.h").is_file() and first.parent == tmp_path / "cache" / "chunkalloc"
    assert micropython_source() == first


def test_what_is_not_a_source_is_refused_with_a_message(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a MicroPython source tree"):
        micropython_source(str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="neither"):
        micropython_source(str(tmp_path / "nothing.tar.gz"))


# -- the firmware test set on every board --------------------------------------------------


@pytest.mark.parametrize("name", BOARDS)
def test_the_whole_firmware_test_set_passes_on_the_emulated_board(name, capsys):
    need(name)
    status = main(["test", "--board", name])
    out = capsys.readouterr().out
    results = RESULT.findall(out)
    failed = [f"{test} [{kernel}]" for verdict, test, kernel, _ in results if verdict == "FAIL"]
    assert status == 0 and not failed, f"failed on {name}: {failed}\n{out[-4000:]}"
    kernels = {kernel for _, _, kernel, _ in results}
    assert "pure" in kernels and kernels - {"pure", "module"}, f"{name} ran no native kernel: {kernels}"
    unexplained = [test for verdict, test, _, why in results if verdict == "SKIP" and not why.strip()]
    assert not unexplained, f"skips without a reason: {unexplained}"
    noalloc = [v for v, test, _, _ in results if test.startswith("test_noalloc.")]
    assert noalloc.count("PASS") >= len(noalloc) // 2, "heap_lock proofs must run on the board"
    passed = [v for v, _, _, _ in results].count("PASS")
    print(f"{name}: {passed} passed, {len(results) - passed} skipped")


def test_the_frozen_firmware_boots_and_its_static_pool_passes_a_model_test(capfd):
    need("qemu-m3")
    assert main(["run", "--board", "qemu-m3", str(EXAMPLES / "freestanding.py")]) == 0
    out = capfd.readouterr().out  # mpremote's own output
    assert "chunkalloc from the firmware image" in out  # frozen: nothing was copied or mounted
    assert "vec: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]" in out
    assert "model: 1000 steps OK on mps2-an385" in out


def test_a_firmware_without_native_code_imports_the_rp2040_build_on_the_pure_path(tmp_path):
    """The stock MICROBIT board (no native emitter): the viper .mpy cannot load there."""
    need(MICROBIT_STOCK)
    build(load_board("rp2040"), tmp_path)
    emulator = start_emulator(MICROBIT_STOCK)
    try:
        target = BoardTarget(MICROBIT_STOCK, emulator.url, tmp_path)
        out = target.run("import sys, chunkalloc\nprint('ARCH', sys.implementation._mpy >> 10 & 15)\n"
                         "p = chunkalloc.ChunkAllocator(chunkalloc.heap(64, 16), chunkalloc.heap_bitmap(64), 16)\n"
                         "print('KERNEL', p.fast, p.alloc(100), p.alloc(20))", capture=True, timeout=120).stdout
    finally:
        emulator.stop()
    assert "ARCH 0" in out and "KERNEL False 0 112" in out, out
