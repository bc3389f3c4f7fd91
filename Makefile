# Two commands on a fresh clone: `make demo` and `make test`.  Each creates .venv and installs
# the package with the extras it needs, torch pinned to the CPU build by constraints.txt.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -c constraints.txt

.PHONY: demo test lint bench clean

$(VENV)/.installed-%: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -q -e ".[$*]"
	touch $@

demo: $(VENV)/.installed-dev
	$(PY) -m stepsize.cli demo

test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.installed-dev
	$(PY) benchmarks/ode_nonstiff.py
	$(PY) benchmarks/ode_stiff.py
	$(PY) benchmarks/nbody_pythagorean.py
	$(PY) benchmarks/nbody_ensemble.py
	$(PY) benchmarks/schedules.py
	$(PY) benchmarks/rl_threebody.py
	$(PY) benchmarks/descent.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
