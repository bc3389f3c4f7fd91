# Two commands on a fresh clone: `make demo` and `make test`.  Each creates .venv and installs
# the exact versions of requirements-dev.lock (every package, transitive ones included, for
# CPython 3.11 on Linux x86-64; torch is the CPU build), then requirements-nodeps.lock (peers
# installed without their dependencies) and the package itself without deps.
# `make lock` regenerates the lock files from pyproject.toml's ranges.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q
COMPILE := $(VENV)/bin/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links \
	-c constraints.txt

.PHONY: demo test lint bench lock clean

$(VENV)/.installed-%: requirements-%.lock requirements-nodeps.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements-$*.lock
	$(PIP) --no-deps -r requirements-nodeps.lock
	$(PIP) --no-deps -e .
	touch $@

demo: $(VENV)/.installed-dev
	$(PY) -m stepsize.cli demo

test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/ode_nonstiff.py
	$(PY) benchmarks/ode_stiff.py
	$(PY) benchmarks/ode_micro.py
	$(PY) benchmarks/nbody_pythagorean.py
	$(PY) benchmarks/nbody_rebound.py
	$(PY) benchmarks/nbody_ensemble.py
	$(PY) benchmarks/schedules.py
	$(PY) benchmarks/rl_threebody.py
	$(PY) benchmarks/rl_front.py
	$(PY) benchmarks/descent.py
	$(PY) benchmarks/optim.py

lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) pip-tools
	$(COMPILE) --extra dev -o requirements-dev.lock pyproject.toml
	$(COMPILE) --extra dev --extra bench -o requirements-bench.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
