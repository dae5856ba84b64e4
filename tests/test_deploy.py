"""`chunkalloc deploy` refuses what cannot work, with a message and a non-zero exit, and
never leaves a half-installed board: a missing port, a wrong firmware version or arch,
a pool too large for the board's RAM, a board that resets mid-copy."""

import subprocess
from pathlib import Path

import pytest

from chunkalloc_host.boards import load_board
from chunkalloc_host.cli import main
from chunkalloc_host.cmd_deploy import PROBE, Probe, deploy, parse_probe, refusal
from chunkalloc_host.mpy import MpyFormat, firmware_format
from chunkalloc_host.target import TargetError, UnixTarget, checksum

ARMV6M = MpyFormat(6, 3, "armv6m")


def unix_probe() -> Probe:
    """The real probe, answered by the unix port."""
    return parse_probe(UnixTarget().run(PROBE, capture=True, timeout=30).stdout)


def test_the_probe_reads_version_mpy_and_free_ram_from_a_real_firmware():
    probe = unix_probe()
    assert probe.version >= (1, 23, 0) and probe.mpy.arch == "x64" and probe.free > 100_000


def test_a_build_for_another_arch_is_refused_naming_the_right_board():
    why = refusal(load_board("rp2040"), unix_probe(), ARMV6M, 1000)
    assert "armv6m" in why and "x64" in why and "--board" in why


def test_an_old_mpy_version_is_refused_with_the_release_to_flash():
    fake = Probe((1, 22, 2), firmware_format(6 | 2 << 8 | 4 << 10), 150_000)  # mpy 6.2, armv6m
    board = load_board("rp2040")
    why = refusal(board, fake, ARMV6M, 1000)
    assert "1.23" in why and "flash" in why


def test_a_firmware_without_mpy_support_is_refused():
    fake = Probe((1, 23, 0), None, 150_000)
    assert "cannot load .mpy" in refusal(load_board("rp2040"), fake, ARMV6M, 1000)


def test_a_pool_too_large_for_free_ram_is_refused_with_a_smaller_size_to_try():
    why = refusal(load_board("rp2040"), Probe((1, 24, 0), ARMV6M, 50_000), ARMV6M, 200_000)
    assert "200000" in why and "50000" in why and "--chunks" in why


def test_a_compatible_board_is_accepted():
    assert refusal(load_board("rp2040"), Probe((1, 24, 1), ARMV6M, 190_000), ARMV6M, 70_000) is None


def test_a_probe_without_an_answer_is_an_error_quoting_the_board():
    with pytest.raises(ValueError, match="did not answer"):
        parse_probe("Traceback ...\nOSError: 5\n")


def test_a_port_that_does_not_exist_fails_with_a_message_and_exit_1(capsys):
    assert main(["deploy", "--board", "rp2040", "--port", "/dev/ttyNOSUCHBOARD"]) == 1
    err = capsys.readouterr().err
    assert "no board at /dev/ttyNOSUCHBOARD" in err and "--port" in err


def test_mpremote_on_a_dead_socket_reports_no_board(capsys):
    assert main(["test", "--board", "rp2040", "--port", "socket://127.0.0.1:9"]) == 1
    assert "127.0.0.1:9" in capsys.readouterr().err


class ResettingBoard:
    """A board that answers the probe, then resets while files are copied: the second
    file never arrives. Records what is on it."""

    def __init__(self):
        self.files = {}

    def run(self, code, *, capture=False, timeout=None):
        out = "PROBE 1 24 0 %d 180000\n" % (6 | 3 << 8 | 4 << 10) if code == PROBE else ""
        return subprocess.CompletedProcess([], 0, out)

    def run_steps(self, codes, *, timeout=None):
        return self.run(codes[-1])

    def put(self, paths):
        self.files[paths[0].name] = checksum(paths[0].read_bytes())  # then the board resets
        return subprocess.CompletedProcess([], 0, "")

    def checksums(self, names):
        return {n: s for n, s in self.files.items() if n in names}

    def remove(self, names):
        for n in names:
            self.files.pop(n, None)


def two_mpy_files(folder: Path) -> list[Path]:
    files = [folder / "chunkalloc.mpy", folder / "chunkpool.mpy"]
    for path in files:
        path.write_bytes(b"M\x06\x00\x1f" + bytes(100))
    return files


def test_a_board_that_resets_mid_copy_is_left_with_nothing_installed(tmp_path: Path):
    files = two_mpy_files(tmp_path)
    board = ResettingBoard()
    with pytest.raises(TargetError, match="chunkpool.mpy.*nothing is installed"):
        deploy(board, load_board("rp2040"), files, 64, 16)
    assert board.files == {}


class GarblingBoard(ResettingBoard):
    """A board on a lossy line: every file arrives, the first write of each garbled."""

    def put(self, paths):
        for p in paths:
            self.files[p.name] = checksum(p.read_bytes()) + (0 if p.name in self.files else 1)
        return subprocess.CompletedProcess([], 0, "")

    def run_steps(self, codes, *, timeout=None):
        return subprocess.CompletedProcess([], 0, "VERIFIED 64\n")


def test_a_file_garbled_on_the_way_is_written_again(tmp_path: Path):
    files = two_mpy_files(tmp_path)
    board = GarblingBoard()
    assert "installed 2 files" in deploy(board, load_board("rp2040"), files, 64, 16)
    assert board.files == {p.name: checksum(p.read_bytes()) for p in files}


def test_a_port_that_answers_nothing_is_reported_busy_with_what_to_do(capsys):
    """A socket that accepts and stays silent stands for a busy or hung board."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    try:
        url = f"socket://127.0.0.1:{server.getsockname()[1]}"
        assert main(["deploy", "--board", "rp2040", "--port", url]) == 1
        err = capsys.readouterr().err
        assert "busy or not answering" in err and "press reset" in err
    finally:
        server.close()
