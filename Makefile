# The README's two set-up commands are `make demo` and `make test`; both create .venv themselves.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make demo` needs only luxlog and its runtime dependencies, not the test/lint tools
BASE_STAMP := $(VENV)/.installed-base

# The dashboard's chart library (uPlot), pinned by web/package-lock.json and copied into the
# package (src/luxlog/web/static/vendor, gitignored: no minified code in the repository).
VENDOR := src/luxlog/web/static/vendor
VENDOR_STAMP := $(VENDOR)/.built

.PHONY: demo test lint bench clean vendor screenshots

$(BASE_STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(BASE_STAMP)

$(STAMP): $(BASE_STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

vendor: $(VENDOR_STAMP)

$(VENDOR_STAMP): web/package.json web/package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --prefix web
	mkdir -p $(VENDOR)
	cp web/node_modules/uplot/dist/uPlot.iife.min.js web/node_modules/uplot/dist/uPlot.min.css $(VENDOR)/
	cp web/node_modules/uplot/LICENSE $(VENDOR)/uPlot.LICENSE
	touch $@

demo: $(BASE_STAMP) $(VENDOR_STAMP)
	$(BIN)/luxlog demo

test: $(STAMP) $(VENDOR_STAMP)
	$(BIN)/pytest --timeout=10 --durations=15 --cov=luxlog --cov-branch --cov-report=term --cov-fail-under=90

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP) $(VENDOR_STAMP)
	$(BIN)/python bench/run.py $(ARGS)

# docs/screenshots/*.png: each dashboard page over the demo data, in headless Chromium
screenshots: $(STAMP) $(VENDOR_STAMP)
	$(BIN)/python bench/screenshots.py

clean:
	rm -rf $(VENV) $(VENDOR) web/node_modules .pytest_cache .mypy_cache .ruff_cache .coverage*
