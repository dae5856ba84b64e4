"""Board definitions: every target is there, complete, and consistent with the .mpy rules."""

import json

import pytest

from chunkalloc_host import BOARDS, LIBRARY
from chunkalloc_host.boards import board_names, load_board
from chunkalloc_host.cmd_build import NOT_MODULES  # the manifest, and CPython's scans
from chunkalloc_host.mpy import ARCHS
from chunkalloc_host.poolgen import pool_bytes

TARGETS = ["esp32", "esp32c3", "esp32s3", "qemu-m3", "qemu-rv32", "rp2040", "rp2040-emu", "rp2350", "unix"]


def test_every_target_has_a_board_file():
    assert board_names() == TARGETS


@pytest.mark.parametrize("name", TARGETS)
def test_board_file_is_complete_and_its_pool_fits_its_ram(name):
    board = load_board(name)
    assert board.arch is None or board.arch in ARCHS
    assert board.chunk_size & (board.chunk_size - 1) == 0 and board.chunks % 8 == 0
    assert pool_bytes(board.chunks, board.chunk_size) < board.free_ram // 2
    assert board.kind in ("local", "serial", "qemu", "rp2040js") and board.notes


def test_rv32imc_boards_need_micropython_1_24_for_viper():
    assert load_board("esp32c3").min_firmware >= (1, 24)
    assert load_board("qemu-rv32").min_firmware >= (1, 24)


@pytest.mark.parametrize("name", ["qemu-m3", "qemu-rv32", "rp2040-emu"])
def test_an_emulated_board_gets_the_build_of_the_board_it_stands_for(name):
    board = load_board(name)
    assert board.emulated and board.arch == load_board(board.connect["stands_for"]).arch
    assert board.connect["micropython_board"] and board.connect["tools"] and board.connect["apt"]
    if board.kind == "qemu":
        assert board.connect["qemu"][0].startswith("qemu-system-")


def test_an_unknown_board_is_refused_with_the_list_of_boards():
    with pytest.raises(ValueError, match="esp32"):
        load_board("esp8266")


def test_a_broken_board_file_names_its_line(tmp_path):
    (tmp_path / "bad.json").write_text('{"name": "bad",\n "arch": }\n')
    with pytest.raises(ValueError, match="line 2"):
        load_board("bad", tmp_path)


def test_the_library_package_json_is_the_library_and_nothing_else():
    """What `mpremote mip install github:OWNER/REPO/firmware/chunkalloc` installs."""
    package = json.loads((LIBRARY / "package.json").read_text())
    assert set(package) == {"urls", "deps", "version"}
    for dest, src in package["urls"]:
        assert (LIBRARY / src).is_file() and dest == src
    library = {p.name for p in LIBRARY.iterdir() if p.suffix in (".py", ".pyi")} - NOT_MODULES
    assert sorted(dest for dest, _ in package["urls"]) == sorted(library)


def test_the_library_manifest_freezes_the_library_and_nothing_else():
    names = []
    env = {"metadata": lambda **kw: None, "module": lambda name, **kw: names.append(name)}
    exec((LIBRARY / "manifest.py").read_text(), env)
    library = {p.name for p in LIBRARY.glob("*.py")} - NOT_MODULES
    assert sorted(names) == sorted(library)
    assert BOARDS.is_dir()
