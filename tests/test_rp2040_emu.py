"""The real Pico firmware on an emulated RP2040 (boards/rp2040-emu.json).

MicroPython's rp2 port (RPI_PICO) is built from source once (cached), with and without
chunkalloc in it, and booted on rp2040js under Node with the chip's bootrom. Without the
toolchain, cmake, Node, the rp2 sources or the bootrom these tests skip, saying what is
missing; with CI set they fail instead, so CI cannot pass without running them.
"""

from __future__ import annotations

import os
import re

import pytest

from chunkalloc_host import EXAMPLES
from chunkalloc_host.boards import load_board
from chunkalloc_host.cli import main
from chunkalloc_host.cmd_build import build
from chunkalloc_host.cmd_firmware import frozen_firmware
from chunkalloc_host.mpsource import rp2_source
from chunkalloc_host.qemufw import missing
from chunkalloc_host.rp2040emu import bootrom
from chunkalloc_host.target import BoardTarget, open_target
from chunkalloc_host.uf2 import FLASH_START, PAYLOAD, RP2040_FAMILY, blocks

BOARD = "rp2040-emu"
RESULT = re.compile(r"^(PASS|FAIL|SKIP) (\S+) \[(\w+)\](.*)$", re.M)


def need() -> None:
    """Skip (fail under CI) when the emulated Pico cannot be built or started here."""
    problem = missing(load_board(BOARD))
    if problem is None:
        try:
            rp2_source()
            bootrom()
        except (ValueError, RuntimeError) as exc:
            problem = str(exc)
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the emulated Pico: {problem}")
        pytest.skip(problem)


def run_tests(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str, str, str]]:
    status = main(["test", "--board", BOARD, *args])
    out = capsys.readouterr().out
    results = RESULT.findall(out)
    failed = [f"{test} [{kernel}]" for verdict, test, kernel, _ in results if verdict == "FAIL"]
    assert status == 0 and not failed, f"failed: {failed}\n{out[-4000:]}"
    unexplained = [test for verdict, test, _, why in results if verdict == "SKIP" and not why.strip()]
    assert not unexplained, f"skips without a reason: {unexplained}"
    for kernel in sorted({k for _, _, k, _ in results}):
        mine = [v for v, _, k, _ in results if k == kernel]
        print(f"{BOARD} {' '.join(args) or 'mounted'} [{kernel}]: {mine.count('PASS')} passed, "
              f"{mine.count('SKIP')} skipped")
    return results


def test_the_uf2_holds_the_bin_block_by_block():
    need()
    folder, _ = frozen_firmware(load_board(BOARD))
    binary = (folder / "firmware.bin").read_bytes()
    found = blocks((folder / "firmware.uf2").read_bytes())
    assert len(found) == (len(binary) + PAYLOAD - 1) // PAYLOAD
    for n, block in enumerate(found):
        assert (block.number, block.count) == (n, len(found))
        assert block.flags & 0x2000 and block.family == RP2040_FAMILY
        assert block.address == FLASH_START + n * PAYLOAD and block.size == PAYLOAD
        assert block.payload == binary[n * PAYLOAD:(n + 1) * PAYLOAD].ljust(PAYLOAD, b"\0")


def test_the_whole_firmware_test_set_passes_on_the_emulated_pico(capsys):
    """The build served to the stock rp2 firmware: the C kernels' .mpy, viper, pure."""
    need()
    results = run_tests([], capsys)
    kernels = {kernel for _, _, kernel, _ in results}
    assert {"c", "viper", "pure"} <= kernels, kernels
    threads = [why for v, test, _, why in results if test.startswith("test_threads.")]
    assert all("core 1" in why for why in threads), threads
    irq = [v for v, test, _, _ in results if test.startswith("test_irq.")]
    assert irq and all(v == "PASS" for v in irq), "the hard-IRQ proof must run on every kernel"


def test_the_frozen_image_passes_the_test_set_on_its_compiled_in_c_kernels(capsys):
    """chunkalloc frozen into the rp2 image, the C kernels compiled in: the whole set."""
    need()
    results = run_tests(["--frozen", "--kernel", "c"], capsys)
    assert {kernel for _, _, kernel, _ in results} == {"c"}


def test_the_frozen_viper_kernels_decide_as_pure_wherever_the_image_places_them(capsys):
    """Frozen native code on armv6m is only 2-byte aligned: every native kernel of the
    image (frozen viper, compiled-in C) against the pure one, on random bitmaps and on the
    model's operations, step by step."""
    need()
    results = run_tests(["--frozen", "--kernel", "viper", "test_kernels", "test_model"], capsys)
    decisions = [v for v, test, k, _ in results
                 if k == "viper" and test.startswith(("test_kernels.", "test_model."))]
    assert len(decisions) >= 6 and all(v == "PASS" for v in decisions), decisions


def test_the_frozen_image_boots_and_its_static_pool_passes_a_model_test(capfd):
    need()
    assert main(["run", "--board", BOARD, str(EXAMPLES / "freestanding.py")]) == 0
    out = capfd.readouterr().out
    assert "chunkalloc from the firmware image - kernel c" in out  # compiled in, nothing mounted
    assert re.search(r"import chunkalloc took \d+ B of RAM", out), out
    assert "model: 1000 steps OK on Raspberry Pi Pico with RP2040" in out
    print(next(line for line in out.splitlines() if line.startswith("import chunkalloc took")))


def test_deploy_installs_reads_back_and_imports_on_the_emulated_picos_flash(capsys):
    need()
    assert main(["deploy", "--board", BOARD]) == 0
    out = capsys.readouterr().out
    assert out.startswith("installed ") and "on rp2040-emu (MicroPython 1.28.0" in out, out
    # after a soft reset: the files on its littlefs, chunkalloc imported from there, kernel c
    assert re.search(r"imports from its flash: \[[^]]*'chunkalloc_c\.mpy'[^]]*\] \S*chunkalloc\.mpy c ",
                     out), out
    print(out.strip())


def test_mip_installs_the_built_package_json_on_the_emulated_picos_flash(tmp_path):
    """mip's view of `chunkalloc build`: `mpremote mip install build/rp2040/package.json`
    onto the emulated Pico's littlefs (the stock rp2 image, nothing mounted) installs the
    library and nothing else, and chunkalloc imports from there on its C kernels."""
    need()
    board = load_board(BOARD)
    files = build(load_board("rp2040"), tmp_path)
    target = open_target(BOARD, mount=False)
    assert isinstance(target, BoardTarget)
    try:
        installed = target.mpremote("mip", "install", str(tmp_path / "package.json"),
                                    capture=True, timeout=300)
        assert installed.returncode == 0, installed.stdout
        assert sorted(re.findall(r"Installing: /lib/(\S+)", installed.stdout)) == sorted(
            p.name for p in files)
        out = target.run("import os, chunkalloc\nprint('LIB', sorted(os.listdir('/lib')))\n"
                         "p = chunkalloc.ChunkAllocator(chunkalloc.heap(64, 16), chunkalloc.heap_bitmap(64), 16)\n"
                         "print('FROM', chunkalloc.__file__, p.kernel, p.alloc(100))",
                         capture=True, timeout=120).stdout
    finally:
        target.close()
    assert f"LIB {sorted(p.name for p in files)!r}" in out, out
    assert "FROM /lib/chunkalloc.mpy c 0" in out, out
    print(f"{board.name}: mip installed {len(files)} files into /lib; chunkalloc imports there, kernel c")
