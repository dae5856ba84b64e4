"""The reduced core for boards that compile source on a tiny heap (the micro:bit).

Generated from firmware/chunkalloc.py and chunkalloc_pure.py, never kept as a second
copy. The micro:bit (MicroPython 1.9.2: ~9 KB heap, 1.8 KB stack, 15 KB of files, no
.mpy loading) compiles each module whole, and the bytecode of the complete core is about
as large as its heap. So the reduced core:

- drops docstrings, comments and CPython-only blocks (`if sys.implementation.name !=
  "micropython":`) and indents by one space;
- keeps only the functions and methods reachable by name from what is asked for
  (`keep`), leaving out the rest; the build keeps BUILD_KEEP;
- turns @property methods (1.9.2 has no `property`) into branches of one __getattr__;
- puts ChunkAllocator's methods in small files chunkalloc_1.py, ... that the first
  construction compiles one at a time (see LAZY_INIT), so that no piece needs more heap
  to compile than the board has, and chunkalloc.py (the module-level code) is no longer
  running, so its bytecode is not in the way; the kernels are imported then too, and
  split the same way (split_module).
"""

from __future__ import annotations

import ast

from . import FIRMWARE

CLASS = "ChunkAllocator"
# What `chunkalloc build --board microbit` keeps: allocate, free, sizes and addresses.
# Left out: realloc, alloc_zeroed, check, stats, gaps, usage, chunk_kind, views (no
# memoryview there) and LockedChunkAllocator (no threads). Whether even this fits beside
# a pool depends on the core's size: see docs/notes-boards.md.
BUILD_KEEP = {"heap", "heap_bitmap", CLASS, "try_alloc", "alloc", "free", "size_of", "address"}
ALWAYS = {"__init__"}
PART_BUDGET = 500  # bytes of reduced source per file of methods
# The class starts with a stand-in __init__: the first construction compiles the kernels
# and the class's methods one small file at a time with exec() (no module object per
# file, no nested import on the 1.8 KB stack), into the kernels' globals and onto the
# class, then calls the real __init__. By then this module's own bytecode is freed:
# compiling the methods during the import would need both at once.
LAZY_INIT = """\
def __init__(self, *args, **kw):
    _methods()
    self.__init__(*args, **kw)
"""
METHOD_LOADER = """\
import gc
try:
 _dir = __file__[:__file__.rfind('/') + 1]
except NameError:
 _dir = ''
def _methods():
 global %s
 if not isinstance(chunkalloc_pure, _Kernels):
  return
 kernels = _kernel_stub._globals()
 for name, into_class in %r:
  gc.collect()
  f = open(_dir + name)
  code = f.read()
  f.close()
  found = {} if into_class else kernels
  exec(code, globals() if into_class else kernels, found)
  code = None
  if into_class:
   for k in found:
    setattr(%s, k, found[k])
 %s = _kernel_stub
"""
KERNELS = "chunkalloc_pure"
# Until then the kernels' name stands for an object that loads everything when used
LAZY_KERNELS = """\
import chunkalloc_pure as _kernel_stub
class _Kernels:
 def __getattr__(self, name):
  _methods()
  return getattr(chunkalloc_pure, name)
chunkalloc_pure = _Kernels()
"""


def _cpython_only(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and \
        ast.unparse(node.test).replace('"', "'") == "sys.implementation.name != 'micropython'"


def _strip(body: list[ast.stmt], omit: set[str]) -> list[ast.stmt]:
    """body without docstrings, CPython-only blocks and definitions named in omit."""
    out = []
    for node in body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            continue
        if _cpython_only(node):
            continue
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in omit:
            continue
        for name in ("body", "orelse", "finalbody"):
            if getattr(node, name, None):
                setattr(node, name, _strip(getattr(node, name), omit) or [ast.Pass()])
        for handler in getattr(node, "handlers", []):
            handler.body = _strip(handler.body, omit) or [ast.Pass()]
        out.append(node)
    return out


def _source(nodes: list[ast.stmt]) -> str:
    """Source of nodes, indented by one space per level (ast.unparse drops comments)."""
    lines = []
    for line in ast.unparse(ast.Module(body=nodes, type_ignores=[])).split("\n"):
        text = line.lstrip(" ")
        if text:
            lines.append(" " * ((len(line) - len(text)) // 4) + text)
    return "\n".join(lines) + "\n"


def uses(node: ast.AST) -> set[str]:
    """Every attribute name node mentions, and every name it does not bind itself."""
    names, local, attributes = set(), set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (local if isinstance(sub.ctx, ast.Store) else names).add(sub.id)
        elif isinstance(sub, ast.arg):
            local.add(sub.arg)
        elif isinstance(sub, ast.Attribute):
            attributes.add(sub.attr)
    if isinstance(node, (ast.FunctionDef, ast.Lambda)):
        names -= local
    return names | attributes


def definitions(body: list[ast.stmt]) -> dict[str, list[ast.AST]]:
    """Functions and classes by name: top-level ones, those in try/if blocks, and methods."""
    found: dict[str, list[ast.AST]] = {}
    for node in body:
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
                found.setdefault(sub.name, []).append(sub)
    return found


def reachable(roots: set[str], bodies: list[list[ast.stmt]]) -> set[str]:
    """The definitions in bodies reachable by name from roots and from module-level code."""
    defs: dict[str, list[ast.AST]] = {}
    todo = set(roots) | ALWAYS
    for body in bodies:
        for name, nodes in definitions(body).items():
            defs.setdefault(name, []).extend(nodes)
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                todo |= uses(node)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        for node in defs[name]:
            if isinstance(node, ast.ClassDef):  # a class's bases and decorators, not its methods
                todo |= set().union(*(uses(b) for b in node.bases + node.decorator_list))
            else:
                todo |= uses(node)
    return seen


def _properties_to_getattr(cls: ast.ClassDef) -> None:
    """Replace @property methods by one __getattr__ that computes them on each read
    (it runs only when normal lookup fails, as it does for these names)."""
    branches = []
    for method in list(cls.body):
        decorators = getattr(method, "decorator_list", [])
        if any(isinstance(d, ast.Name) and d.id == "property" for d in decorators):
            cls.body.remove(method)
            branches.append(f"if name == {method.name!r}:\n" + _indent(_source(method.body)))
    if branches:
        source = "def __getattr__(self, name):\n" + _indent("".join(branches) + "raise AttributeError(name)\n")
        cls.body.append(ast.parse(source).body[0])


def _indent(text: str) -> str:
    return "".join(" " + line + "\n" for line in text.splitlines())


def reduce_module(source: str, keep: set[str]) -> str:
    """A module's source with only the definitions reachable from keep."""
    body = _strip(ast.parse(source).body, set())
    omit = set(definitions(body)) - reachable(keep, [body])
    return _source(_strip(body, omit))


def reduced_core(core: str, pure: str, keep: set[str] = BUILD_KEEP,
                 budget: int = PART_BUDGET) -> dict[str, str]:
    """{file name: source} of the reduced chunkalloc and chunkalloc_pure."""
    core_body = _strip(ast.parse(core).body, set())
    pure_body = _strip(ast.parse(pure).body, set())
    live = reachable(keep, [core_body, pure_body])
    omit = (set(definitions(core_body)) | set(definitions(pure_body))) - live
    body = _strip(core_body, omit)
    cls = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == CLASS)
    _properties_to_getattr(cls)
    # the kernels are imported by the first construction, not by the import (see LAZY_INIT)
    kernels = [n for n in body if isinstance(n, ast.Import) and [a.name for a in n.names] == [KERNELS]]
    for node in kernels:
        body[body.index(node):body.index(node) + 1] = ast.parse(LAZY_KERNELS).body
    parts = _pack(cls.body, budget)
    files, kernel_loads = split_module(KERNELS, _strip(pure_body, omit), budget)
    loads = [(piece, 0) for piece in kernel_loads]
    for number, methods in enumerate(parts, 1):
        files[f"chunkalloc_{number}.py"] = _source(methods)
        loads.append((f"chunkalloc_{number}.py", 1))
    cls.body = ast.parse(LAZY_INIT).body
    files["chunkalloc.py"] = ("# Generated by `chunkalloc build`: the reduced core "
                              "(see chunkalloc_host/reduced.py)\n" + _source(body)
                              + METHOD_LOADER % (KERNELS, loads, CLASS, KERNELS))
    return files


def split_module(name: str, body: list[ast.stmt], budget: int
                 ) -> tuple[dict[str, str], list[str]]:
    """Module name as a stub plus files name_0.py (the module-level code and the functions
    it calls), name_1.py, ... (the other functions, each file about budget bytes), and
    those files in the order to run them with exec() in the stub's globals
    (name._globals()); functions look their globals up when called, so any order works."""
    functions = {n.name: n for n in body if isinstance(n, ast.FunctionDef)}
    head_uses = set().union(*(uses(n) for n in body if not isinstance(n, ast.FunctionDef)))
    head = [n for n in body if not isinstance(n, ast.FunctionDef) or n.name in head_uses]
    pieces = _pack([n for n in body if n not in head], budget)
    # the module itself is a stub that is cheap to import deep in the call stack; its
    # code runs with exec() like the pieces
    files = {f"{name}.py": "def _globals():\n return globals()\n", f"{name}_0.py": _source(head)}
    for number, defs in enumerate(pieces, 1):
        files[f"{name}_{number}.py"] = _source(defs)
    return files, [n for n in files if n != f"{name}.py"]


def _pack(nodes: list[ast.stmt], budget: int) -> list[list[ast.stmt]]:
    """nodes in order, in groups of about budget bytes of source (a bigger node alone)."""
    groups: list[list[ast.stmt]] = []
    size = budget
    for node in nodes:
        n = len(_source([node]))
        if size + n > budget:
            groups.append([])
            size = 0
        groups[-1].append(node)
        size += n
    return groups


def reduced_firmware(keep: set[str] = BUILD_KEEP) -> dict[str, str]:
    """The reduced core and pure kernels from firmware/, keeping what keep reaches."""
    return reduced_core((FIRMWARE / "chunkalloc.py").read_text(),
                        (FIRMWARE / "chunkalloc_pure.py").read_text(), keep)
