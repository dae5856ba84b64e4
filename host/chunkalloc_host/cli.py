"""The `chunkalloc` command, shaped like mpremote: `chunkalloc COMMAND [options]`.

Each command lives in its own module `cmd_<name>.py` with HELP, add_arguments(parser)
and run(args) -> exit code. Modules are listed here in the order `--help` shows them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

COMMANDS = ["demo", "test", "bench", "build", "deploy", "firmware", "run", "map", "trace", "replay", "tune"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chunkalloc",
        description="Demo, test, benchmark, build and deploy chunkalloc on a MicroPython target.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"chunkalloc_host.cmd_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"chunkalloc_host.cmd_{name}":
                raise
            continue  # command not built yet
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


# options naming a file that stand for an environment variable for the rest of the run
# (the emulated Pico's inputs, read where the board is started)
OPTION_ENV = {"bootrom": "CHUNKALLOC_RP2040_BOOTROM", "rp2_overlay": "CHUNKALLOC_MICROPYTHON_RP2"}


def main(argv: list[str] | None = None) -> int:
    from .target import TargetError

    args = build_parser().parse_args(argv)
    for option, variable in OPTION_ENV.items():
        value = getattr(args, option, None)
        if value:
            os.environ[variable] = str(Path(value).expanduser().resolve())
    try:
        return int(args.run(args) or 0)
    except TargetError as exc:  # a board or a tool missing: one line saying what to do
        print(f"chunkalloc {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
