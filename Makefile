# Two commands set everything up on a fresh clone:
#   make run    create .venv, install lowtf, fetch MNIST, run the main job
#   make test   the same set-up, then the default test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: run test test-all setup data bench clean lock upgrade browser

# The stamp is rebuilt when the declared dependencies or the lock change. constraints.txt holds the
# exact versions the suite passed with, so a fresh clone next year installs what was tested.
$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
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

# make test-all also opens TensorBoard's dashboards in a real browser: Debian's chromium and its driver.
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get install -y -q chromium chromium-driver || sudo apt-get install -y -q chromium chromium-driver)

test-all: data browser
	$(BIN)/python -m pytest -m "" -n 2 --dist loadfile

bench: data
	$(BIN)/lowtf bench

# constraints.txt from what .venv holds for lowtf[test] (setup.cfg's requirements, followed through
# the installed packages; lowtf itself and anything installed by hand left out). Run after make test passed.
lock:
	$(BIN)/python scripts/lock.py constraints.txt

# Move to the newest versions setup.cfg allows, run the suite, and rewrite the lock only if it passed.
# If it failed, constraints.txt is unchanged: `touch constraints.txt && make setup` reinstalls the locked set.
upgrade: setup
	$(BIN)/python -m pip install -q --upgrade --upgrade-strategy eager -e '.[test]'
	$(MAKE) test
	$(MAKE) lock

clean:
	rm -rf runs .pytest_cache
