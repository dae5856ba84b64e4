# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv/ on first use with pinned tools and the project installed,
# quietly: a first `make demo` prints the demo and nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The MicroPython source the C kernels' native modules are built from: the pinned tarball
# beside the checkout when there is one (CI), else `chunkalloc_host.prebuilt --fetch` clones v1.28.0
SHARED_TARBALL := $(wildcard $(CURDIR)/../shared/micropython/micropython-1.28.0.tar.gz)
ifeq ($(CHUNKALLOC_MICROPYTHON),)
ifneq ($(SHARED_TARBALL),)
export CHUNKALLOC_MICROPYTHON := $(abspath $(SHARED_TARBALL))
endif
endif
# MicroPython stubs, one folder per board family (each brings its own machine.pyi,
# time.pyi, ... so they cannot share one place): tests/test_types.py checks the
# firmware against each
STUB_FAMILIES := rp2 esp32 unix
STUBS := $(STUB_FAMILIES:%=typings/%/.installed)

.PHONY: demo test typings natmods dist clean

# setup.py compiles the C kernels for CPython at install: a changed kernel installs anew
$(BIN)/chunkalloc: requirements.txt pyproject.toml setup.py firmware/c/chunkalloc_kernel.h firmware/c/chunkalloc_cpython.c
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { echo \
	    "chunkalloc needs Python 3.10 or newer (the unix port's wheels start there); $(PYTHON) is older: make PYTHON=python3.10" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -qq --upgrade pip
	@$(BIN)/pip install -qq -r requirements.txt -e .
	@touch $@

typings: $(STUBS)

typings/%/.installed: requirements-stubs.txt | $(BIN)/chunkalloc
	@rm -rf typings/$*
	@$(BIN)/pip install -qq --target typings/$* -c requirements-stubs.txt micropython-$*-stubs
	@touch $@

# the unix port's C kernels (x64), built once (cloning MicroPython if no source is at hand);
# where that fails the demo says why in one line and runs viper
demo: $(BIN)/chunkalloc
	@$(BIN)/python -m chunkalloc_host.prebuilt --quiet --fetch x64 2>/dev/null || true
	@$(BIN)/chunkalloc demo

# chunkalloc_c.mpy for x64, armv6m, armv7m and rv32imc in build/natmod (what a wheel carries)
natmods: $(BIN)/chunkalloc
	$(BIN)/python -m chunkalloc_host.prebuilt --fetch

# the wheel, in dist/: the host package, the library, boards, firmware folders and the
# prebuilt native modules (setup.py); fails if a native module cannot be built
dist: $(BIN)/chunkalloc
	@rm -rf dist/*.whl
	CHUNKALLOC_DIST=1 $(BIN)/pip wheel -q --no-deps -w dist .
	@ls -l dist/*.whl

test: $(BIN)/chunkalloc $(STUBS)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis typings firmware/chunkalloc/chunkalloc_c*.so
