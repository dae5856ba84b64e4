"""The typed API: basedpyright finds no error in

- the firmware library modules (firmware/chunkalloc/: chunkalloc*.py, chunkpool.py and their .pyi
  stubs), checked against the MicroPython stubs of each board family (rp2, esp32,
  unix; `make typings` installs them into typings/FAMILY/), in basic mode;
- the host package (host/chunkalloc_host, configured in pyproject.toml's
  [tool.basedpyright]), in strict mode;

and a user's program checked against the shipped .pyi stubs alone (no sources) passes
when it uses the interface right and fails when it passes a str as a size.

A failure lists every error as FILE:LINE:COL: RULE: MESSAGE.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "firmware" / "chunkalloc"
TYPINGS = REPO / "typings"
FAMILIES = ("rp2", "esp32", "unix")
PUBLIC = ("chunkalloc", "chunkalloc_map", "chunkalloc_trace", "chunkpool")
BASEDPYRIGHT = Path(sys.executable).with_name("basedpyright")
IGNORE = re.compile(r"#\s*(type|pyright)\s*:\s*ignore\b(.*)")


def firmware_library() -> list[Path]:
    """The modules a user's board code imports, and the kernels they load."""
    files = sorted(LIBRARY.glob("chunkalloc*.py")) + [LIBRARY / "chunkpool.py"]
    return files + sorted(LIBRARY.glob("chunkalloc*.pyi")) + [LIBRARY / "chunkpool.pyi"]


def stubs(family: str) -> Path:
    """typings/FAMILY, installed by `make typings` (which `make test` runs) when missing."""
    folder = TYPINGS / family
    if not (folder / ".installed").exists():
        subprocess.run(["make", "-s", f"typings/{family}/.installed"], cwd=REPO, check=True)
    return folder


def run_checker(config: Path | None = None, *args: str) -> list[str]:
    """Run basedpyright; its errors as 'FILE:LINE:COL: RULE: MESSAGE' lines."""
    if not BASEDPYRIGHT.exists():
        pytest.fail(f"{BASEDPYRIGHT} is missing: `make .venv/bin/chunkalloc` installs it "
                    "(requirements.txt)")
    cmd = [str(BASEDPYRIGHT), "--outputjson", *args]
    if config is not None:
        cmd += ["--project", str(config)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"basedpyright failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    errors: list[str] = []
    for d in report["generalDiagnostics"]:
        if d["severity"] != "error":
            continue
        start = d["range"]["start"]
        path = Path(d["file"])
        where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        errors.append(f"{where}:{start['line'] + 1}:{start['character'] + 1}: "
                      f"{d.get('rule', '-')}: {' '.join(d['message'].split())}")
    return errors


def write_config(folder: Path, **settings: Any) -> Path:
    config = folder / "pyrightconfig.json"
    config.write_text(json.dumps(settings, indent=2))
    return config


def micropython_config(folder: Path, family: str, include: list[Path], extra: Path,
                       mode: str) -> Path:
    """A checker configuration for code that runs on a board of family: MicroPython's
    stdlib and modules from the family's stubs, other imports from extra."""
    typings = stubs(family)
    return write_config(
        folder,
        include=[str(p) for p in include],
        typeshedPath=str(typings),  # its stdlib/: MicroPython's builtins and stdlib
        stubPath=str(typings),  # machine, micropython, uctypes, ...
        extraPaths=[str(extra)],
        typeCheckingMode=mode,
        reportMissingModuleSource="none",  # the board's modules have no Python source
        enableTypeIgnoreComments=False,  # only `# pyright: ignore[rule]` counts
        reportIgnoreCommentWithoutRule="error",
    )


def fail_on(errors: list[str], what: str) -> None:
    if errors:
        pytest.fail(f"{len(errors)} type errors in {what}:\n" + "\n".join(errors), pytrace=False)


@pytest.mark.parametrize("family", FAMILIES)
def test_firmware_library_type_checks_against_the_board_family_stubs(family: str,
                                                                      tmp_path: Path) -> None:
    config = micropython_config(tmp_path, family, firmware_library(), LIBRARY, "basic")
    fail_on(run_checker(config), f"the firmware against micropython-{family}-stubs (basic)")


def test_host_package_type_checks_in_strict_mode() -> None:
    # pyproject.toml's [tool.basedpyright]: all of host/chunkalloc_host, strict
    fail_on(run_checker(None, "--pythonpath", sys.executable), "host/chunkalloc_host (strict)")


def test_every_ignore_comment_names_its_rule_and_says_why() -> None:
    """No blanket ignores: `# pyright: ignore[rule]  # why` on the line it excuses."""
    files = firmware_library() + sorted((REPO / "host" / "chunkalloc_host").glob("*.py"))
    bad = []
    for path in files:
        lines = path.read_text().splitlines()
        for n, line in enumerate(lines, 1):
            m = IGNORE.search(line)
            if m and not re.match(r"\[[\w, ]+\]\s*#\s*\S", m.group(2)):
                bad.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
            # a file-level rule setting says why on the comment line above it
            if re.match(r"#\s*pyright\s*:\s*\w+\s*=", line) and (
                    n < 2 or not lines[n - 2].startswith("#")):
                bad.append(f"{path.relative_to(REPO)}:{n}: {line.strip()} (no reason above)")
    assert not bad, "ignore comments without a rule and a reason:\n" + "\n".join(bad)


def test_stubs_are_shipped_beside_the_sources_and_in_the_mip_package() -> None:
    urls = json.loads((LIBRARY / "package.json").read_text())["urls"]
    shipped = {dest for dest, _ in urls}
    for name in PUBLIC:
        assert (LIBRARY / f"{name}.pyi").exists()
        assert f"{name}.pyi" in shipped and f"{name}.py" in shipped


# Names a stub may have ahead of the code (none: the kernel selection, KERNELS and
# ChunkAllocator.kernel, is in chunkalloc.py now)
PENDING: set[str] = set()


def stub_names(name: str) -> dict[str, set[str]]:
    """Public names of firmware/chunkalloc/NAME.pyi: {"": module level, CLASS: its members}."""
    tree = ast.parse((LIBRARY / f"{name}.pyi").read_text())
    names: dict[str, set[str]] = {"": set()}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[""].add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[""].add(node.target.id)
        if isinstance(node, ast.ClassDef):
            names[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} | {
                n.target.id for n in node.body
                if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    return {k: {n for n in v if not n.startswith("_")} for k, v in names.items()}


@pytest.mark.parametrize("name", PUBLIC)
def test_the_stubs_and_the_code_name_the_same_interface(name: str) -> None:
    """Every name a stub promises exists in the code (on CPython), and every public
    function, class, method and property of the code is in the stub."""
    module = importlib.import_module(name)
    stub = stub_names(name)
    missing = {f"{name}.{n}" for n in stub[""] if not hasattr(module, n)}
    unstubbed = {f"{name}.{n}" for n, obj in vars(module).items() if not n.startswith("_")
                 and inspect.isfunction(obj) | inspect.isclass(obj)
                 and obj.__module__ == name and n not in stub[""]}
    for cls, members in stub.items():
        if not cls or not hasattr(module, cls):
            continue
        runtime = getattr(module, cls)
        init = inspect.getsource(runtime.__init__)  # instance attributes are set there
        served = None
        if name == "chunkalloc" and cls == "ChunkAllocator":
            # made by chunkalloc_setup.init; members no hot path needs served from
            # chunkalloc_extras on first use (ChunkAllocator.__getattr__)
            init += inspect.getsource(importlib.import_module("chunkalloc_setup").init)
            served = importlib.import_module("chunkalloc_extras")
        missing |= {f"{name}.{cls}.{m}" for m in members
                    if not hasattr(runtime, m) and not (served and hasattr(served, m))
                    and f"self.{m} =" not in init}
        unstubbed |= {f"{name}.{cls}.{m}" for m in vars(runtime) if not m.startswith("_")
                      and m not in members}
    assert missing <= PENDING, f"in the stub, not the code: {sorted(missing - PENDING)}"
    assert not unstubbed, f"in the code, not the stub: {sorted(unstubbed)}"


GOOD_USER = '''\
import chunkalloc
import chunkalloc_map
import chunkalloc_trace
from chunkpool import POOL, CHUNK_SIZE

pool = chunkalloc.ChunkAllocator(chunkalloc.heap(256, 64), chunkalloc.heap_bitmap(256), 64)
buf = pool.alloc_view(100, align=32)
buf[:5] = b"hello"
first: int = buf[0]
pool.free(buf)
off = pool.try_alloc(128)
if off >= 0:
    pool.heap[off] = 1
    off = pool.realloc(off, 300)
    size: int = pool.size_of(off)
    pool.free(off)
kernel: str = pool.kernel
best: str = chunkalloc.KERNELS[0]
pure = chunkalloc.ChunkAllocator(bytearray(1024), chunkalloc.heap_bitmap(16), 64, fast="pure")
used: int = pool.stats()["used"] + POOL.used + CHUNK_SIZE
frag: float = pool.stats()["fragmentation"]
for start, length in pool.gaps():
    print(start + length)
locked = chunkalloc.LockedChunkAllocator(pool)
locked.free(locked.alloc(10))
recorder = chunkalloc_trace.Recorder(pool, 64)
recorder.free(recorder.alloc_view(10))
chunkalloc_map.show(recorder)
chunkalloc_map.show(locked, out=print)
chunkalloc_trace.dump(recorder)
'''


def check_user_program(tmp_path: Path, source: str, family: str) -> list[str]:
    """Check source as a user's board program would be in an editor: MicroPython stubs
    for family, and chunkalloc's .pyi stubs alone (as the wheel ships them)."""
    site = tmp_path / "site"
    site.mkdir()
    for name in PUBLIC:
        shutil.copy(LIBRARY / f"{name}.pyi", site)
    program = tmp_path / "main.py"
    program.write_text(source)
    return run_checker(micropython_config(tmp_path, family, [program], site, "strict"))


@pytest.mark.parametrize("family", FAMILIES)
def test_a_user_program_using_the_interface_right_type_checks(family: str,
                                                              tmp_path: Path) -> None:
    fail_on(check_user_program(tmp_path, GOOD_USER, family), "the good user program")


def test_a_user_program_passing_a_str_as_size_fails_the_check(tmp_path: Path) -> None:
    bad = GOOD_USER + 'pool.alloc_view("100")\n'
    errors = check_user_program(tmp_path, bad, "rp2")
    last = len(bad.splitlines())
    assert len(errors) == 1 and f"main.py:{last}:" in errors[0], errors
    assert "reportArgumentType" in errors[0] and 'parameter "size"' in errors[0], errors
    assert "Literal['100']" in errors[0] and "alloc_view" in errors[0], errors


def test_the_wheel_ships_the_board_modules_with_their_stubs_and_the_typed_host(
        tmp_path: Path) -> None:
    # from a copy: setuptools builds in the source tree, and a stale build/lib there
    # would put files into later wheels that the tree no longer has
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".*", "build", "typings", "docs", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("chunkalloc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in PUBLIC:
        assert {f"{name}.py", f"{name}.pyi"} <= names, sorted(names)
    assert {"chunkalloc_pure.py", "chunkalloc_viper.py", "chunkalloc_host/py.typed",
            "chunkalloc_host/cli.py"} <= names, sorted(names)
