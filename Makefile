# The two commands in README.md: `make demo` and `make test`. Everything they need is
# installed from here, so a fresh machine runs them without manual steps.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Libraries WeasyPrint loads at run time, from Debian's packages.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 fonts-dejavu-core
# The browser the UI tests drive through Playwright: Debian's, never one Playwright downloads.
BROWSER_PACKAGES := chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install system-deps static browser-deps lint format bench bench-packages clean

# The whole flow, then the staff UI on http://127.0.0.1:8000 until Ctrl-C
# (`manage.py demo --no-serve` stops after the package instead).
demo: install
	DEBUG=1 $(BIN)/python manage.py demo

# The whole suite on the configured database (DATABASE_URL; SQLite when unset). When
# that is PostgreSQL, the property tests marked both_databases run again on SQLite.
test: install browser-deps
	DEBUG=1 $(BIN)/python -m pytest
	@if [[ "$${DATABASE_URL:-}" == postgres* ]]; then \
	  echo "--- again on embedded SQLite: tests marked both_databases ---"; \
	  DEBUG=1 DATABASE_URL= LEGALOPS_REQUIRE_SERVICES=0 LEGALOPS_VAR_DIR=$$(mktemp -d) \
	    $(BIN)/python -m pytest -m both_databases; \
	fi

install: system-deps $(STAMP) static

# USWDS and htmx for the staff UI, copied from npm packages into legalops/web/static/vendor/.
# The copies are committed, so this only runs npm when package-lock.json pins new versions.
static:
	@$(PYTHON) scripts/vendor_static.py

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

system-deps:
	@if ! ldconfig -p | grep -q 'libpango-1.0.so' || ! ldconfig -p | grep -q 'libharfbuzz-subset.so' \
	    || ! fc-list 2>/dev/null | grep -qi dejavu; then \
	  echo "installing WeasyPrint's system libraries: $(SYSTEM_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi

browser-deps:
	@if ! command -v chromium >/dev/null; then \
	  echo "installing the browser for the UI tests: $(BROWSER_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	fi

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	DEBUG=1 $(BIN)/python benchmarks/lookups_bench.py

# Package generation at 1k, 10k and 100k rows beside a WeasyPrint <table> and ReportLab
# (the "bench" extra, installed here only). About 5 minutes on a quiet 2-core machine.
bench-packages: install
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,bench]'
	DEBUG=1 $(BIN)/python benchmarks/packages_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
