# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv/ on first use with pinned tools and the project installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test clean

# setup.py compiles the C kernels for CPython at install: a changed kernel installs anew
$(BIN)/chunkalloc: requirements.txt pyproject.toml setup.py firmware/c/chunkalloc_kernel.h firmware/c/chunkalloc_cpython.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -e .
	touch $@

demo: $(BIN)/chunkalloc
	$(BIN)/chunkalloc demo

test: $(BIN)/chunkalloc
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis host/chunkalloc_c*.so
