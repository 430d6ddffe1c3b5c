# `make demo` and `make test` set up .venv with the pinned stack when it is
# missing (about 2 minutes), then run. PYTHON picks the interpreter that
# creates the venv (3.9+; the pins in requirements/constraints.txt were
# measured with 3.11 on Linux x86_64).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmfsar-installed
LINT_PATHS := $(wildcard mmfsar configs tools tests benchmarks demo)

.PHONY: install demo smoke test lint clean-venv

$(STAMP): requirements/runtime.txt requirements/tests.txt requirements/constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade-strategy only-if-needed \
		-c requirements/constraints.txt \
		-r requirements/runtime.txt -r requirements/tests.txt
	$(PY) -m pip install --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(STAMP)
	$(PY) -m pytest -q tests

lint: $(STAMP)
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)
	$(PY) -m yapf --diff --recursive $(LINT_PATHS)

clean-venv:
	rm -rf $(VENV)
