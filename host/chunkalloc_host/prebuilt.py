"""The prebuilt native modules: chunkalloc_c.mpy for each arch a wheel carries, from the
pinned MicroPython, each with a stamp naming the firmware/c/ it was built from.

`python -m chunkalloc_host.prebuilt [--out DIR] [--fetch] [ARCH ...]` writes OUT/ARCH/
chunkalloc_c.mpy and OUT/ARCH/SOURCE (default: PREBUILT, a checkout's build/natmod; every
arch of natmod.PREBUILT_ARCHS). The source: --micropython, else $CHUNKALLOC_MICROPYTHON,
else one already cached, else (--fetch) a clone of tag v1.28.0. `make natmods` and
`make demo` run this; setup.py runs prebuild() to put the modules in the wheel.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from . import PREBUILT
from .mpsource import TAG, micropython_source
from .natmod import (FAILED, MODULE, PREBUILT_ARCHS, STAMP, NatmodError, available_source, cached_natmod,
                     prebuilt, source_hash)


def prebuild(archs: list[str], out: Path, micropython: str | None = None, fetch: bool = False
             ) -> dict[str, str]:
    """Build chunkalloc_c.mpy for each arch into out/ARCH (an arch already built from
    today's firmware/c/ is kept, unless micropython is given); {arch: why not, in one line}
    for those that could not be built, also kept in out/ARCH/FAILED for natmod_for to say."""
    todo = [arch for arch in archs if micropython or prebuilt(arch, out) is None]
    failed: dict[str, str] = {}
    source: Path | None = None
    if todo:
        try:
            source = available_source(micropython)
            if source is None and fetch:  # long work shows progress: a clone takes minutes
                print(f"chunkalloc: fetching MicroPython {TAG} (once) to build {MODULE}.mpy", flush=True)
                source = micropython_source(micropython)
        except ValueError as exc:
            failed = {arch: str(exc).splitlines()[0] for arch in todo}
        else:
            if source is None:
                failed = {arch: "no MicroPython source (pass --micropython or set CHUNKALLOC_MICROPYTHON)"
                          for arch in todo}
    for arch in todo:
        folder = out / arch
        folder.mkdir(parents=True, exist_ok=True)
        if source is not None:
            try:
                shutil.copyfile(cached_natmod(source, arch), folder / f"{MODULE}.mpy")
                (folder / STAMP).write_text(source_hash() + "\n")
                (folder / FAILED).unlink(missing_ok=True)
                continue
            except NatmodError as exc:
                failed[arch] = str(exc).splitlines()[0]
        (folder / FAILED).write_text(failed[arch] + "\n")
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chunkalloc_host.prebuilt", description=__doc__)
    parser.add_argument("archs", nargs="*", default=list(PREBUILT_ARCHS))
    parser.add_argument("--out", type=Path, default=PREBUILT)
    parser.add_argument("--micropython", metavar="DIR|TARBALL", default=None)
    parser.add_argument("--fetch", action="store_true", help="clone MicroPython v1.28.0 if no source is at hand")
    parser.add_argument("--quiet", action="store_true", help="print only what failed")
    args = parser.parse_args(argv)
    failed = prebuild(args.archs, args.out, args.micropython, args.fetch)
    for arch, why in failed.items():
        print(f"chunkalloc: no {MODULE}.mpy for {arch}: {why}", file=sys.stderr)
    if not args.quiet:
        built = [arch for arch in args.archs if arch not in failed]
        print(f"{MODULE}.mpy for {', '.join(built) or 'no arch'} in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
