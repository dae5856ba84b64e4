# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv/ on first use with pinned tools and the project installed,
# quietly: a first `make demo` prints the demo and nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# MicroPython stubs, one folder per board family (each brings its own machine.pyi,
# time.pyi, ... so they cannot share one place): tests/test_types.py checks the
# firmware against each
STUB_FAMILIES := rp2 esp32 unix
STUBS := $(STUB_FAMILIES:%=typings/%/.installed)

.PHONY: demo test typings clean

# setup.py compiles the C kernels for CPython at install: a changed kernel installs anew
$(BIN)/chunkalloc: requirements.txt pyproject.toml setup.py firmware/c/chunkalloc_kernel.h firmware/c/chunkalloc_cpython.c
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -qq --upgrade pip
	@$(BIN)/pip install -qq -r requirements.txt -e .
	@touch $@

typings: $(STUBS)

typings/%/.installed: requirements-stubs.txt | $(BIN)/chunkalloc
	@rm -rf typings/$*
	@$(BIN)/pip install -qq --target typings/$* -c requirements-stubs.txt micropython-$*-stubs
	@touch $@

demo: $(BIN)/chunkalloc
	@$(BIN)/chunkalloc demo

test: $(BIN)/chunkalloc $(STUBS)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis typings firmware/chunkalloc/chunkalloc_c*.so
