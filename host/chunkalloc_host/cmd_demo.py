"""`chunkalloc demo`: the freestanding demo (firmware/demo/demo.py) on a target.

Its first line names the kernel it runs ("c path" or "viper path"); on the unix port,
where the C kernels' native module cannot be had, one line before it says why."""

from __future__ import annotations

import argparse

from .natmod import MODULE, unix_natmod
from .target import BoardTarget, UnixTarget, add_target_arguments, micropython_binary, open_target

HELP = "run the freestanding demo: a heap-locked packet pipeline served from one pool"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long the workload runs")


def run(args: argparse.Namespace) -> int:
    target = open_target(args.board, args.port, micropython=args.micropython)
    if isinstance(target, UnixTarget):
        micropython_binary()  # no unix port: one line naming what to install
        folder, why = unix_natmod()
        if folder is None:  # the demo's banner names the kernel it runs ("viper path")
            print(f"chunkalloc demo: no {MODULE}.mpy (the C kernels): {why}; the viper kernels run")
    try:
        return target.run(f"import demo\ndemo.main({args.seconds!r})").returncode
    finally:
        if isinstance(target, BoardTarget):
            target.close()
