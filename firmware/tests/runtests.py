# On-device test runner: runs the firmware test modules (tests/test_*.py) on
# whatever MicroPython this is, on every kernel it has (chunkalloc.KERNELS:
# "c", "viper", "pure"), and prints one line per test and kernel:
#
#   PASS test_alloc.test_free_needs_no_size [c]
#   FAIL test_alloc.test_x [pure]
#     <traceback, indented>
#   SKIP test_noalloc.test_y [pure] why
#
# then the closing line "N passed, N failed, N skipped". The host parses these.
# A module the board's build leaves out (an ImportError naming a module that is
# not the project's own) skips the tests that need it, naming it. Each test
# module is dropped again after its run, with what it imported, so the next
# one finds the board's heap as the runner found it.
# Usage: import runtests; runtests.main(["test_alloc"], ["viper", "pure"])

import gc
import sys

import fwtest

try:
    import io
except ImportError:
    io = None


def _trace(e):
    if io is not None and hasattr(sys, "print_exception"):
        buf = io.StringIO()
        sys.print_exception(e, buf)
        return buf.getvalue()
    if io is not None:  # CPython
        import traceback
        return "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return "%s: %s\n" % (type(e).__name__, e)


def discover():
    import os
    found = []
    for d in sys.path:
        try:
            names = os.listdir(d or ".")
        except OSError:
            continue
        for n in names:
            if n.startswith("test_") and n.endswith(".py") and n[:-3] not in found:
                found.append(n[:-3])
    found.sort()
    return found


# modules of this project: one of these missing is a broken install, not a board limit
OURS = ("chunkalloc", "chunkpool", "fwtest", "guarded", "xorshift", "bench", "demo", "runtests", "test_")


def missing_module(e):
    """The board module whose absence ImportError e reports, or None when it is
    one of the project's own (or e is not about a missing module)."""
    msg = str(e)  # "no module named 'x'" (MicroPython), "No module named 'x'" (CPython)
    if not msg.lower().startswith("no module named '"):
        return None
    name = msg.split("'")[1]
    for own in OURS:
        if name.startswith(own):
            return None
    return name


def test_names(name):
    """The test_* functions of a module that cannot be imported, from its source."""
    for d in sys.path:
        try:
            f = open((d + "/" if d else "") + name + ".py")
        except OSError:
            continue
        with f:
            names = [line[4:line.index("(")] for line in f
                     if line.startswith("def test_") and "(" in line]
        names.sort()
        return names
    return ["*"]


def run(label, fn, counts):
    """Run one test function, print its line, count it."""
    gc.collect()
    try:
        fn()
        print("PASS " + label)
        counts[0] += 1
        return
    except fwtest.Skip as e:
        reason = str(e)
    except Exception as e:
        missing = missing_module(e) if isinstance(e, ImportError) else None
        if missing is None:
            print("FAIL " + label)
            for line in _trace(e).split("\n"):
                if line:
                    print("  " + line)
            counts[1] += 1
            return
        reason = "needs module %s, which this board's build leaves out" % missing
    print("SKIP %s %s" % (label, reason))
    counts[2] += 1


def main(modules=None, paths=None):
    if modules is None:
        modules = discover()
    if paths is None:  # the allocator's kernels, best first ("c", "viper", "pure")
        import chunkalloc
        paths = list(chunkalloc.KERNELS)
    counts = [0, 0, 0]
    for name in modules:
        before = list(sys.modules)
        try:
            module = __import__(name)
            names = [t for t in sorted(dir(module)) if t.startswith("test_")]
            tests = [getattr(module, t) for t in names]
        except (Exception, fwtest.Skip) as e:  # each test reports the import's error or skip
            names = test_names(name)

            def failed_import(e=e):
                raise e
            tests = [failed_import] * len(names)
        module = None
        for path in paths:
            fwtest.KERNEL = path  # "c", "viper" or "pure"
            for t, fn in zip(names, tests):
                run("%s.%s [%s]" % (name, t, path), fn, counts)
        tests = fn = None
        for m in list(sys.modules):  # drop the module and what it imported
            if m not in before:
                del sys.modules[m]
        gc.collect()
    print("%d passed, %d failed, %d skipped" % tuple(counts))
    return counts[1] == 0


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1:] or None) else 1)
