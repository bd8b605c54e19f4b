# The README's two set-up commands are `make demo` and `make test`; both create .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make demo` needs only luxlog and its runtime dependencies, not the test/lint tools
BASE_STAMP := $(VENV)/.installed-base

.PHONY: demo test lint bench clean

$(BASE_STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(BASE_STAMP)

$(STAMP): $(BASE_STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(BASE_STAMP)
	$(BIN)/luxlog demo

test: $(STAMP)
	$(BIN)/pytest --timeout=10 --durations=15 --cov=luxlog --cov-branch --cov-report=term --cov-fail-under=90

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage*
