"""Run a firmware build's commands with progress shown and the log kept for errors.

`run_steps(steps, label)` runs each command, reading its output as it comes: cmake's make
prints "[ 42%]", which drives a progress bar; other makes advance it a line at a time.
On failure FirmwareError carries the command and the end of its output.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import NoReturn

from tqdm import tqdm

BUILD_TIMEOUT = 900.0  # seconds for one step: a board takes 15-120 s with -j2
PERCENT = re.compile(r"^\[\s*(\d+)%\]")


class FirmwareError(Exception):
    """A firmware could not be built; the message says why and what to install."""


def run_steps(steps: list[list[str]], label: str, timeout: float = BUILD_TIMEOUT) -> None:
    print(f"building {label} (once; cached after)", file=sys.stderr)
    with tqdm(total=100, desc=label, unit="%", disable=None, leave=False) as bar:
        for command in steps:
            _run(command, bar, timeout)
        bar.update(100 - bar.n)


def _run(command: list[str], bar: tqdm[NoReturn], timeout: float) -> None:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    tail: list[str] = []
    for line in process.stdout:
        tail = (tail + [line])[-60:]
        found = PERCENT.match(line)
        if found and int(found.group(1)) > bar.n:
            bar.update(int(found.group(1)) - bar.n)
        if time.monotonic() > deadline:
            process.kill()
            break
    if process.wait() != 0:
        said = "".join(tail).strip()[-2000:]
        raise FirmwareError(f"{' '.join(command[:4])} ... failed:\n{said}")
