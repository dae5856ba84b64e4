"""The reduced core for boards that compile source on a tiny heap (the micro:bit).

Generated at build time from firmware/chunkalloc.py and chunkalloc_pure.py, never kept
as a second copy. The micro:bit (MicroPython 1.9.2, ~9 KB heap, 15 KB of flash files)
cannot load .mpy files and compiles a module in one piece, so the reduced core:

- drops docstrings and comments and indents by one space (smaller files, smaller parse);
- leaves out the names in OMIT: what needs memoryview, threads or IRQs there, and the
  methods whose bytecode would not leave room to run anything (see OMIT's comments);
- turns @property methods (1.9.2 has no `property`) into attributes set by __init__;
- splits ChunkAllocator's methods over small modules chunkalloc_1.py, chunkalloc_2.py ...
  (mixins it inherits from), so that no single module needs more heap to compile than
  the board has. chunkalloc_0.py holds the module-level code; chunkalloc.py re-exports it.
"""

from __future__ import annotations

import ast

from . import FIRMWARE

CLASS = "ChunkAllocator"
OMIT = {
    # need memoryview, _thread or machine IRQs, which the micro:bit firmware lacks
    "LockedChunkAllocator", "view", "alloc_view", "offset_of",
    # left out for heap: with them the core's bytecode fills the 9 KB heap
    "realloc", "alloc_zeroed", "copy", "zero", "chunk_kind", "usage", "stats", "gaps", "check",
}
PART_BUDGET = 1000  # bytes of reduced source per module: compiles in the micro:bit's heap


def _strip(body: list[ast.stmt], omit: set[str]) -> list[ast.stmt]:
    """body without docstrings and without definitions named in omit, recursively."""
    out = []
    for node in body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
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


def _defined(nodes: list[ast.stmt]) -> set[str]:
    """Names bound at module level by nodes (also inside try/except)."""
    names = set()
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.alias):
                names.add(sub.asname or sub.name)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
    return names


def _properties_to_attributes(cls: ast.ClassDef) -> None:
    init = next(m for m in cls.body if isinstance(m, ast.FunctionDef) and m.name == "__init__")
    for method in list(cls.body):
        decorators = getattr(method, "decorator_list", [])
        if any(isinstance(d, ast.Name) and d.id == "property" for d in decorators):
            body = method.body[-1]
            if len(method.body) != 1 or not isinstance(body, ast.Return):
                raise ValueError(f"property {method.name} is not a single return: cannot reduce it")
            cls.body.remove(method)
            target = ast.Attribute(value=ast.Name(id="self", ctx=ast.Load()), attr=method.name,
                                   ctx=ast.Store())
            init.body.append(ast.Assign(targets=[target], value=body.value, lineno=0))


def reduce_module(source: str, omit: set[str] = OMIT) -> str:
    """A module's source without docstrings, comments and the names in omit."""
    return _source(_strip(ast.parse(source).body, omit))


def reduced_core(core: str, omit: set[str] = OMIT, budget: int = PART_BUDGET) -> dict[str, str]:
    """{file name: source} of the reduced chunkalloc, split into small modules."""
    body = _strip(ast.parse(core).body, omit)
    cls = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == CLASS)
    _properties_to_attributes(cls)
    body.remove(cls)
    top = _defined(body)
    parts: list[list[ast.stmt]] = [[]]
    size = 0
    for method in cls.body:
        n = len(_source([method]))
        if parts[-1] and size + n > budget:
            parts.append([])
            size = 0
        parts[-1].append(method)
        size += n
    files = {"chunkalloc_0.py": _source(body)}
    bases = []
    for number, methods in enumerate(parts, 1):
        base = f"_Part{number}"
        used = sorted({n.id for m in methods for n in ast.walk(m) if isinstance(n, ast.Name)} & top)
        head = f"from chunkalloc_0 import {', '.join(used)}\n" if used else ""
        mixin = ast.ClassDef(name=base, bases=[], keywords=[], body=methods, decorator_list=[])
        files[f"chunkalloc_{number}.py"] = head + _source([mixin])
        bases.append((f"chunkalloc_{number}", base))
    # imports first, one level deep: each nested import compiles on the board's 1.8 KB stack
    hoisted = [_source([n]).strip() for n in body if isinstance(n, ast.Import)]
    lines = ["# Generated by `chunkalloc build`: the reduced core (see chunkalloc_host/reduced.py)"]
    lines += ["import gc"] + hoisted + ["from chunkalloc_0 import " + ", ".join(sorted(top))]
    for module, base in bases:  # collect between compiles: the heap is too small to fragment
        lines += ["gc.collect()", f"from {module} import {base}"]
    lines += [f"class {CLASS}({', '.join(base for _, base in bases)}):", " pass"]
    files["chunkalloc.py"] = "\n".join(lines) + "\n"
    return files


def reduced_firmware() -> dict[str, str]:
    """The reduced core and the pure kernels, from firmware/."""
    files = reduced_core((FIRMWARE / "chunkalloc.py").read_text())
    files["chunkalloc_pure.py"] = reduce_module((FIRMWARE / "chunkalloc_pure.py").read_text())
    return files
