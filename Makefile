# Kleroterion: `make demo` runs the whole chain on the shipped example; `make test` runs the checks.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/klero demo --out demo-output

lint: $(DEVSTAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(DEVSTAMP)
	$(BIN)/mypy

pytest: $(DEVSTAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

BENCHSTAMP := $(VENV)/.installed-bench

$(BENCHSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	touch $@ $(DEVSTAMP) $(STAMP)

bench: $(BENCHSTAMP)
	$(BIN)/python bench/selection.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/registry.py --rows 1000000

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
