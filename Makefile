# Two commands set everything up on a fresh clone:
#   make run    create .venv, install lowtf, fetch MNIST, run the main job
#   make test   the same set-up, then the default test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run test test-all setup data bench clean

# The stamp is rebuilt when the declared dependencies change.
$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

data: setup
	$(BIN)/lowtf data fetch

run: data
	$(BIN)/lowtf main

# Two pytest workers, a test file each at a time: most tests wait on a process starting or a
# server answering, so two in step use the 2 cores better (measured: 292 s serial, 197-208 s with -n 2).
test: data
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-all: data
	$(BIN)/python -m pytest -m "" -n 2 --dist loadfile

bench: data
	$(BIN)/lowtf bench

clean:
	rm -rf runs .pytest_cache
