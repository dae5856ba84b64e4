"""`chunkalloc demo`: the freestanding demo (firmware/demo/demo.py) on a target."""

from __future__ import annotations

import argparse

from .target import BoardTarget, add_target_arguments, open_target

HELP = "run the freestanding demo: a heap-locked packet pipeline served from one pool"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_arguments(parser)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long the workload runs")


def run(args: argparse.Namespace) -> int:
    target = open_target(args.board, args.port, micropython=args.micropython)
    try:
        return target.run(f"import demo\ndemo.main({args.seconds!r})").returncode
    finally:
        if isinstance(target, BoardTarget):
            target.close()
