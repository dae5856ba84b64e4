"""Shared by the packaging tests: a clean copy of the tree, and a user's environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def clean_copy(dest: Path) -> Path:
    """The files git tracks (as they are in the working tree), copied to dest: what a
    clean clone has, without build/, .venv/, caches or built extensions."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout (git ls-files names the tree's files)")
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split("\0")
    for name in filter(None, names):
        source = REPO / name
        if source.is_file():  # a file deleted in the working tree is not copied
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def user_environment(cache: Path, venv: Path) -> dict[str, str]:
    """A user's environment: no CHUNKALLOC_MICROPYTHON, an empty cache, the venv's bin first
    and nothing of the developer's venv on PATH."""
    ours = Path(sys.executable).parent
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p) != ours]
    env = {k: v for k, v in os.environ.items()
           if k not in ("CHUNKALLOC_MICROPYTHON", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    cache.mkdir(parents=True, exist_ok=True)
    env.update(XDG_CACHE_HOME=str(cache), PATH=os.pathsep.join([str(venv / "bin"), *path]))
    return env
