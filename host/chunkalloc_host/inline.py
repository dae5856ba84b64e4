"""Inlining calls, so that the reduced core runs within a tiny stack.

The micro:bit's MicroPython 1.9.2 has about 2 KB of C stack and each Python call takes
~250 bytes of it: from a test, some six nested calls in all. The core nests deeper
(alloc -> try_alloc -> the kernel's alloc -> find). So the reduced core has calls
inlined until no method or function nests more than MAX_DEPTH calls, itself included.

A call is inlined where it is a whole statement (`x = f(a)`, `f(a)`, `return f(a)`):
the arguments are bound to fresh names, then the callee's body runs inside a
`while True:` that runs once, with each `return v` turned into `x = v; break`. So a
callee with a `return` inside a loop of its own is inlined only at `return f(a)`, where
its returns stay returns. A call inside an expression is inlined when the callee is one
`return expression`. Methods are inlined where they are called on `self`.
"""

from __future__ import annotations

import ast
import copy
import itertools

MAX_DEPTH = 3  # a test, a helper (raises), then the method: six frames at most


class _Functions:
    """The module's functions and the class's methods, and who calls whom."""

    def __init__(self, body: list[ast.stmt], cls: ast.ClassDef):
        self.functions = {n.name: n for n in body if isinstance(n, ast.FunctionDef)}
        self.methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}

    def callee(self, call: ast.AST) -> ast.FunctionDef | None:
        if not isinstance(call, ast.Call):
            return None
        f = call.func
        if isinstance(f, ast.Name):
            return self.functions.get(f.id)
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "self":
            return self.methods.get(f.attr)
        return None

    def is_method(self, fn: ast.FunctionDef) -> bool:
        return self.methods.get(fn.name) is fn

    def depth(self, fn: ast.FunctionDef, seen: tuple = ()) -> int:
        """Calls nested from fn, fn included (known callees only)."""
        if fn in seen:
            return 99  # recursion: never shallow
        inner = [self.depth(g, seen + (fn,)) for g in
                 (self.callee(c) for c in ast.walk(fn) if isinstance(c, ast.Call)) if g]
        return 1 + max(inner, default=0)

    def all(self) -> list[ast.FunctionDef]:
        return list(self.functions.values()) + list(self.methods.values())


def _returns_in_loops(fn: ast.FunctionDef) -> bool:
    def visit(node: ast.AST, in_loop: bool) -> bool:
        if isinstance(node, ast.Return) and in_loop:
            return True
        loop = in_loop or isinstance(node, (ast.For, ast.While))
        return any(visit(c, loop) for c in ast.iter_child_nodes(node))
    return any(visit(s, False) for s in fn.body)


def _inlinable(fn: ast.FunctionDef) -> bool:
    a = fn.args
    return not (a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or fn.decorator_list
                or any(isinstance(s, (ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal,
                                      ast.FunctionDef, ast.Lambda, ast.ClassDef))
                       for s in ast.walk(fn) if s is not fn))


def _one_expression(fn: ast.FunctionDef) -> bool:
    return len(fn.body) == 1 and isinstance(fn.body[0], ast.Return) and fn.body[0].value is not None


def _fresh_prefix(caller: ast.AST) -> str:
    """_i0_, _i1_, ...: the first prefix no name in caller has yet (the same code always
    gets the same names)."""
    taken = {n.id for n in ast.walk(caller) if isinstance(n, ast.Name)}
    prefixes = (f"_i{tag}_" for tag in itertools.count())
    return next(p for p in prefixes if not any(name.startswith(p) for name in taken))


def _bind(fn: ast.FunctionDef, call: ast.Call, method: bool, caller: ast.AST
          ) -> tuple[dict[str, ast.expr], ast.FunctionDef] | None:
    """(parameter -> argument expression, a copy of fn with its locals renamed apart)."""
    params = [a.arg for a in fn.args.args]
    defaults = dict(zip(params[len(params) - len(fn.args.defaults):], fn.args.defaults))
    args = list(call.args)
    if method:
        params = params[1:]  # self stays self
    if any(isinstance(a, ast.Starred) for a in args) or len(args) > len(params):
        return None
    bound = dict(zip(params, args))
    for kw in call.keywords:
        if kw.arg is None or kw.arg not in params or kw.arg in bound:
            return None
        bound[kw.arg] = kw.value
    for p in params:
        if p not in bound:
            if p not in defaults:
                return None
            bound[p] = defaults[p]
    fn = copy.deepcopy(fn)
    prefix = _fresh_prefix(caller)
    local = set(params) | {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)
                           and isinstance(n.ctx, ast.Store)}
    local |= {h.name for h in ast.walk(fn) if isinstance(h, ast.ExceptHandler) and h.name}
    names = {n: prefix + n for n in local if n != "self"}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and node.id in names:
            node.id = names[node.id]
        elif isinstance(node, ast.ExceptHandler) and node.name in names:
            node.name = names[node.name]
    return {names[p]: v for p, v in bound.items()}, fn


class _Substitute(ast.NodeTransformer):
    def __init__(self, values: dict[str, ast.expr]):
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return copy.deepcopy(self.values[node.id]) if node.id in self.values else node


class _Returns(ast.NodeTransformer):
    """return v -> target = v; break (target None: v is evaluated for its effects)."""

    def __init__(self, target: ast.expr | None):
        self.target = target

    def visit_Return(self, node: ast.Return) -> list[ast.stmt]:
        value = node.value or ast.Constant(None)
        if self.target is not None:
            first = ast.Assign(targets=[copy.deepcopy(self.target)], value=value)
        elif isinstance(value, (ast.Constant, ast.Name)):
            return [ast.Break()]
        else:
            first = ast.Expr(value)
        return [first, ast.Break()]


def _ends(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise, ast.Break))


def _inline_statement(stmt: ast.stmt, fns: _Functions, caller: ast.AST) -> list[ast.stmt] | None:
    """stmt (a whole-statement call in caller) with the callee's body in place of the
    call, or None."""
    if isinstance(stmt, ast.Expr):
        call, target = stmt.value, None
    elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name):
        call, target = stmt.value, stmt.targets[0]
    elif isinstance(stmt, ast.Return) and stmt.value is not None:
        call, target = stmt.value, None
    else:
        return None
    fn = fns.callee(call)
    if fn is None or not _inlinable(fn):
        return None
    as_return = isinstance(stmt, ast.Return)
    if not as_return and _returns_in_loops(fn):
        return None
    binding = _bind(fn, call, fns.is_method(fn), caller)
    if binding is None:
        return None
    bound, fn = binding
    # a name or constant stands in for a parameter the callee never rebinds
    stored = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    direct = {p: v for p, v in bound.items() if isinstance(v, (ast.Name, ast.Constant)) and p not in stored}
    fn.body = [_Substitute(direct).visit(s) for s in fn.body]
    out: list[ast.stmt] = [ast.Assign(targets=[ast.Name(p, ast.Store())], value=v)
                           for p, v in bound.items() if p not in direct]
    if as_return:
        return out + fn.body + ([] if _ends(fn.body) else [ast.Return(ast.Constant(None))])
    body = [_Returns(target).visit(s) for s in fn.body]
    body = [s for b in body for s in (b if isinstance(b, list) else [b])]
    if not _ends(body):
        if target is not None:
            body.append(ast.Assign(targets=[copy.deepcopy(target)], value=ast.Constant(None)))
        body.append(ast.Break())
    return out + [ast.While(test=ast.Constant(True), body=body, orelse=[])]


def _load(node: ast.expr) -> bool:
    """A name, a constant, or attributes of one: nothing runs when it is left out."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, (ast.Name, ast.Constant))


class _InlineExpressions(ast.NodeTransformer):
    """Calls of one-expression callees, anywhere, where no argument is evaluated twice."""

    def __init__(self, fns: _Functions, only: ast.FunctionDef | None = None):
        self.fns, self.only, self.changed = fns, only, False
        self.caller: ast.AST = ast.Module(body=[], type_ignores=[])  # where the calls are

    def inline_in(self, caller: ast.AST) -> ast.AST:
        self.caller = caller
        return self.visit(caller)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        fn = self.fns.callee(node)
        if fn is None or (self.only is not None and fn is not self.only) \
                or not _one_expression(fn) or not _inlinable(fn):
            return node
        binding = _bind(fn, node, self.fns.is_method(fn), self.caller)
        if binding is None:
            return node
        bound, fn = binding
        expression = fn.body[0].value
        uses = {p: sum(isinstance(n, ast.Name) and n.id == p for n in ast.walk(expression))
                for p in bound}
        # each argument evaluated once; a name or constant any number of times; a plain
        # load (self.heap) may also go unevaluated
        if any(uses[p] > 1 and not isinstance(v, (ast.Name, ast.Constant))
               or uses[p] == 0 and not _load(v) for p, v in bound.items()):
            return node

        self.changed = True
        return _Substitute(bound).visit(expression)


def _inline_one(fn: ast.FunctionDef, callee: ast.FunctionDef, fns: _Functions) -> bool:
    """Inline one call of callee in fn; whether it could."""
    expressions = _InlineExpressions(fns, callee)
    expressions.inline_in(fn)
    if expressions.changed:
        return True

    def rewrite(body: list[ast.stmt]) -> bool:
        for i, stmt in enumerate(body):
            if fns.callee(getattr(stmt, "value", None)) is callee:
                new = _inline_statement(stmt, fns, fn)
                if new is not None:
                    body[i:i + 1] = new
                    return True
            for field in ("body", "orelse", "finalbody"):
                block = getattr(stmt, field, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt) and rewrite(block):
                    return True
            for handler in getattr(stmt, "handlers", []):
                if rewrite(handler.body):
                    return True
        return False

    return rewrite(fn.body)


def _flatten(fn: ast.FunctionDef, limit: int, fns: _Functions) -> bool:
    """Inline calls in fn (or deeper) until it nests at most limit calls; whether it does."""
    if limit < 1:
        return False
    for _ in range(100):
        if fns.depth(fn) <= limit:
            return True
        deep = [g for g in (fns.callee(c) for c in ast.walk(fn) if isinstance(c, ast.Call))
                if g and fns.depth(g) > limit - 1]
        if not deep:
            return True
        g = deep[0]
        if not _inline_one(fn, g, fns) and not _flatten(g, limit - 1, fns):
            return False
    return fns.depth(fn) <= limit


def shallow(body: list[ast.stmt], cls: ast.ClassDef, limit: int = MAX_DEPTH) -> list[str]:
    """Inline calls in body's functions and cls's methods (in place) until each nests at
    most limit calls; the names of those that still nest deeper."""
    fns = _Functions(body, cls)
    return [fn.name for fn in fns.all() if not _flatten(fn, limit, fns)]


def inline_expressions(body: list[ast.stmt], cls: ast.ClassDef) -> None:
    """Inline (in place) the calls anywhere in body of its one-expression functions, and
    of cls's one-expression methods, where no argument is evaluated twice."""
    inline = _InlineExpressions(_Functions(body, cls))
    body[:] = [inline.inline_in(n) for n in body]


def lean(body: list[ast.stmt], cls: ast.ClassDef, keep: set[str]) -> None:
    """Inline (in place) the functions and methods outside keep that are called from one
    place only: each costs 80-100 bytes of RAM as a function object on the micro:bit.
    (Inlining small checks at every call as well was measured: more tests ran out of
    heap there than gained the call level.)"""
    fns = _Functions(body, cls)
    changed = True
    while changed:
        changed = False
        calls: dict[ast.FunctionDef, list[ast.FunctionDef]] = {}
        mentions: dict[str, int] = {}
        for fn in fns.all():
            for node in ast.walk(fn):
                g = fns.callee(node)
                if g is not None:
                    calls.setdefault(g, []).append(fn)
                if isinstance(node, (ast.Name, ast.Attribute)):
                    name = node.id if isinstance(node, ast.Name) else node.attr
                    mentions[name] = mentions.get(name, 0) + 1
        for g, callers in calls.items():
            # only called (a function passed as a value stays), by others
            if len(callers) == 1 and mentions.get(g.name) == 1 \
                    and g.name not in keep and not g.name.startswith("__") and g not in callers \
                    and _inline_one(callers[0], g, fns):
                changed = True
                break


def depth(body: list[ast.stmt], cls: ast.ClassDef) -> dict[str, int]:
    """Calls each function and method nests, itself included."""
    fns = _Functions(body, cls)
    return {fn.name: fns.depth(fn) for fn in fns.all()}
