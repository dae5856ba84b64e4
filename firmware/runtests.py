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
# Usage: import runtests; runtests.main(["test_alloc"], ["viper", "pure"])

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


def main(modules=None, paths=None):
    if modules is None:
        modules = discover()
    if paths is None:
        import chunkalloc
        paths = list(chunkalloc.KERNELS)
    counts = [0, 0, 0]
    for name in modules:
        module = __import__(name)
        tests = [t for t in sorted(dir(module)) if t.startswith("test_")]
        for path in paths:
            fwtest.KERNEL = path
            for t in tests:
                label = "%s.%s [%s]" % (name, t, path)
                try:
                    getattr(module, t)()
                    print("PASS " + label)
                    counts[0] += 1
                except fwtest.Skip as e:
                    print("SKIP %s %s" % (label, e))
                    counts[2] += 1
                except Exception as e:
                    print("FAIL " + label)
                    for line in _trace(e).split("\n"):
                        if line:
                            print("  " + line)
                    counts[1] += 1
    print("%d passed, %d failed, %d skipped" % tuple(counts))
    return counts[1] == 0


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1:] or None) else 1)
