"""The MicroPython source tree that emulated-board firmware and native modules are built from.

`micropython_source(spec)` returns the root of a MicroPython v1.28.0 tree (the folder
with py/ and ports/), taken from, in order:

1. spec (`--micropython DIR|TARBALL`): a source folder, or a .tar.gz of one;
2. the environment variable CHUNKALLOC_MICROPYTHON, read the same way;
3. otherwise a shallow git clone of tag v1.28.0 from the upstream repository.

Tarballs and clones land in the cache folder (cache_dir()), once: a tarball is extracted
under a name made from its sha256, so a changed tarball is extracted anew.

The rp2 port (`rp2_source(spec, overlay)`) needs more than that tree: ports/rp2 and the
submodules it pins (pico-sdk, tinyusb, ...). They come from a tree that has them already
(a clone gets them with `make -C ports/rp2 submodules`), else from an overlay tarball
(`--rp2-overlay`, CHUNKALLOC_MICROPYTHON_RP2, else micropython-1.28.0-rp2.tar.gz beside
the base tarball) extracted over a copy of the base tree.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tarfile
from collections.abc import Generator
from pathlib import Path

TAG = "v1.28.0"
UPSTREAM = "https://github.com/micropython/micropython"
ENV = "CHUNKALLOC_MICROPYTHON"
RP2_ENV = "CHUNKALLOC_MICROPYTHON_RP2"


def cache_dir() -> Path:
    """Where sources and built firmware are kept: $XDG_CACHE_HOME/chunkalloc (~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    path = Path(base) / "chunkalloc"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def locked(name: str) -> Generator[None, None, None]:
    """Hold an exclusive lock named name in the cache: two processes (a test run and a
    command) never build or extract the same thing at once."""
    with open(cache_dir() / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def is_source_tree(path: Path) -> bool:
    return (path / "py" / "mpconfig.h").is_file() and (path / "ports" / "qemu").is_dir()


def source_id(root: Path) -> str:
    """A short name for what is in root, for cache keys: its sha256 folder name when it was
    extracted here, else its path."""
    return root.name if root.parent == cache_dir() else str(root.resolve())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract(tarball: Path) -> Path:
    """The source tree inside tarball, extracted into the cache once."""
    target = cache_dir() / f"micropython-{_sha256(tarball)[:16]}"
    with locked(target.name):
        if not is_source_tree(target):
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            with tarfile.open(tarball) as archive:
                archive.extractall(partial)  # noqa: S202 - our own pinned source
            tops = [p for p in partial.iterdir() if p.is_dir()]
            top = tops[0] if len(tops) == 1 and not is_source_tree(partial) else partial
            if not is_source_tree(top):
                shutil.rmtree(partial)
                raise ValueError(f"{tarball}: no MicroPython source tree inside "
                                 "(no py/mpconfig.h and ports/qemu)")
            shutil.rmtree(target, ignore_errors=True)
            top.rename(target)
            shutil.rmtree(partial, ignore_errors=True)
    return target


def clone() -> Path:
    """Tag TAG of the upstream repository, cloned into the cache once."""
    target = cache_dir() / f"micropython-{TAG}"
    with locked(target.name):
        if not is_source_tree(target):
            if not shutil.which("git"):
                raise ValueError(f"no MicroPython source: pass --micropython DIR|TARBALL, set {ENV}, "
                                 "or install git to clone it")
            shutil.rmtree(target, ignore_errors=True)
            steps = [["git", "clone", "--depth", "1", "--branch", TAG, UPSTREAM, str(target)],
                     ["make", "-C", str(target / "ports" / "qemu"), "submodules"]]
            for step in steps:
                result = subprocess.run(step, capture_output=True, text=True)
                if result.returncode != 0:
                    shutil.rmtree(target, ignore_errors=True)
                    said = (result.stderr.strip().splitlines() or ["no message"])[-1]  # git's fatal: line
                    raise ValueError(f"{' '.join(step[:2])} {TAG} failed ({said.strip()[-300:]}): "
                                     f"pass --micropython DIR|TARBALL or set {ENV} instead")
    return target


def micropython_source(spec: str | None = None) -> Path:
    """The MicroPython source tree: spec, else $CHUNKALLOC_MICROPYTHON, else a clone."""
    spec = spec or os.environ.get(ENV)
    if not spec:
        return clone()
    path = Path(spec).expanduser()
    if path.is_dir():
        if not is_source_tree(path):
            raise ValueError(f"{path} is not a MicroPython source tree (no py/mpconfig.h and ports/qemu)")
        return path
    if path.is_file() and tarfile.is_tarfile(path):
        return extract(path)
    raise ValueError(f"{spec}: neither a MicroPython source folder nor a .tar.gz of one")


def has_rp2_port(root: Path) -> bool:
    return (root / "ports" / "rp2" / "CMakeLists.txt").is_file() \
        and (root / "lib" / "pico-sdk" / "CMakeLists.txt").is_file()


def _overlay_beside(spec: str | None) -> Path | None:
    """micropython-X-rp2.tar.gz beside the base tarball micropython-X.tar.gz, if there."""
    spec = spec or os.environ.get(ENV)
    if not spec or not spec.endswith(".tar.gz"):
        return None
    beside = Path(spec[: -len(".tar.gz")] + "-rp2.tar.gz").expanduser()
    return beside if beside.is_file() else None


def rp2_source(spec: str | None = None, overlay: str | None = None) -> Path:
    """A MicroPython tree that builds ports/rp2: the base tree (spec, as micropython_source)
    if it has the port and its submodules, else the base tree with the overlay over it."""
    base = micropython_source(spec)
    if has_rp2_port(base):
        return base
    found = overlay or os.environ.get(RP2_ENV)
    path = Path(found).expanduser() if found else _overlay_beside(spec)
    if path is None:
        if base.name == f"micropython-{TAG}":  # our clone: fetch the port's submodules
            command = ["make", "-C", str(base / "ports" / "rp2"), "submodules"]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode == 0 and has_rp2_port(base):
                return base
        raise ValueError(f"{base} has no ports/rp2 with its submodules (pico-sdk, tinyusb): pass "
                         f"--rp2-overlay TARBALL or set {RP2_ENV} (micropython-1.28.0-rp2.tar.gz)")
    if not (path.is_file() and tarfile.is_tarfile(path)):
        raise ValueError(f"{path}: not a .tar.gz overlay of the rp2 port")
    target = cache_dir() / f"micropython-rp2-{base.name[-8:]}-{_sha256(path)[:8]}"
    with locked(target.name):
        if not has_rp2_port(target):
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(base, partial, symlinks=True)
            unpacked = target.with_name(target.name + ".overlay")
            shutil.rmtree(unpacked, ignore_errors=True)
            with tarfile.open(path) as archive:
                archive.extractall(unpacked)  # noqa: S202 - our own pinned source
            tops = [p for p in unpacked.iterdir() if p.is_dir()]  # one top folder, as the base
            shutil.copytree(tops[0] if len(tops) == 1 else unpacked, partial, symlinks=True,
                            dirs_exist_ok=True)
            shutil.rmtree(unpacked)
            if not has_rp2_port(partial):
                shutil.rmtree(partial)
                raise ValueError(f"{path}: no ports/rp2 and lib/pico-sdk inside")
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
    return target


def add_source_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--micropython", metavar="DIR|TARBALL", default=None,
                        help=f"MicroPython {TAG} source (default: ${ENV}, else a git clone)")
    parser.add_argument("--bootrom", metavar="FILE", default=None,
                        help="the RP2040 bootrom (B1, 16 KiB) for rp2040-emu "
                             "(default: $CHUNKALLOC_RP2040_BOOTROM)")
    parser.add_argument("--rp2-overlay", metavar="TARBALL", default=None,
                        help="the rp2 port and its submodules over that source, for the "
                             f"rp2040-emu board (default: ${RP2_ENV}, else the -rp2.tar.gz "
                             "beside the source tarball)")
