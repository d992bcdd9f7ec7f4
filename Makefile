# Kleroterion: `make demo` runs the whole chain on the shipped example; `make test` runs the checks.
# Installs come from the lock (requirements/dev.lock, with hashes), so a fresh machine gets exactly what CI
# tested. `make lock` re-resolves it; `make test-latest` tries the newest versions pyproject.toml allows.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements/dev.lock
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9

SYSDEPS := poppler-utils chromium postgresql

.PHONY: sysdeps demo test lint typecheck pytest pytest-pg bench lock test-latest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

demo: $(STAMP)
	$(BIN)/klero demo --out demo-output

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian packages the tests use: poppler-utils (pdftotext -bbox for the report layout test), chromium
# (the axe accessibility test, driven by Playwright) and postgresql (the suite's second run, on a real
# PostgreSQL server). Installed only when missing; needs root (CI runs as root).
sysdeps:
	@command -v pdftotext >/dev/null && command -v chromium >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| apt-get install -y --no-install-recommends $(SYSDEPS) \
		|| (apt-get update && apt-get install -y --no-install-recommends $(SYSDEPS))

pytest: $(STAMP) sysdeps
	$(BIN)/pytest -q

# The same suite with every workspace in PostgreSQL: .ci/with-postgres starts a throwaway server for the run
# and stops it afterwards (tests marked sqlite_only are skipped there, each with its reason).
pytest-pg: $(STAMP) sysdeps
	.ci/with-postgres $(BIN)/pytest -q

test: lint typecheck pytest pytest-pg

# The lock: every package, pinned with hashes, for Python 3.11 on any platform.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --universal --generate-hashes \
		--custom-compile-command "make lock" --upgrade -o $(LOCK)

# The newest versions pyproject.toml allows, in a separate environment: tells early what a relock would break.
test-latest:
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade -e ".[dev]"
	.venv-latest/bin/pytest -q -x

BENCHSTAMP := $(VENV)/.installed-bench

$(BENCHSTAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps "gurobipy>=11"
	touch $@

bench: $(BENCHSTAMP)
	$(BIN)/python bench/cli.py
	$(BIN)/python bench/selection.py
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/registry.py --rows 1000000

clean:
	rm -rf $(VENV) .venv-latest demo-output .pytest_cache .mypy_cache .ruff_cache
