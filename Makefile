SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run demo-full test test-fast lint format install install-dev browser-deps messages
# The real catalog, imported by `make demo-full` when it is there (shared/ beside the repository).
FULL_CATALOG ?= ../shared/catalogs/halilit-2026

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# Translations: locale/*/LC_MESSAGES/*.po are committed, their .mo compiled here with Babel
# (pure Python, a dependency), so no machine needs GNU gettext to serve Hebrew.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))
%.mo: %.po $(BIN)/.installed
	$(BIN)/pybabel -q compile -i $< -o $@
messages: $(MO_FILES)

install: $(BIN)/.installed messages
install-dev: $(BIN)/.installed-dev messages

## Serve the product on the embedded defaults (SQLite, in-memory channel layer, in-process tasks).
run: $(BIN)/.installed messages
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_demo
	DEBUG=1 $(BIN)/python manage.py seed_hebrew_aliases
	@echo "Only the demo catalog is loaded. For the real one: make demo-full (imports $(FULL_CATALOG)),"
	@echo "or DEBUG=1 $(BIN)/python manage.py import_catalog PATH... for other catalog files."
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

## Like `run`, with the real catalog imported as well when $(FULL_CATALOG) is there.
demo-full: $(BIN)/.installed messages
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py load_demo
	@if [ -d "$(FULL_CATALOG)" ]; then \
	  DEBUG=1 $(BIN)/python manage.py import_catalog "$(FULL_CATALOG)"; \
	else echo "warning: $(FULL_CATALOG) not found; serving the demo catalog only (FULL_CATALOG=PATH names another)"; fi
	DEBUG=1 $(BIN)/python manage.py seed_hebrew_aliases
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

## Debian's chromium for the browser tests (needs root; skipped with a warning otherwise).
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "warning: chromium not found and not root; browser tests will be skipped"; fi; \
	fi

## The whole suite against PostgreSQL and Redis (DATABASE_URL/REDIS_URL override the defaults).
test: $(BIN)/.installed-dev messages browser-deps
	@exports="$$($(BIN)/python -m apps.devtools.probe)" || exit 1; eval "$$exports"; \
	  SECRET_KEY=test-secret-key-not-for-production-0123456789abcdefghijklmnop SECURE=0 \
	  $(BIN)/python -m pytest $(PYTEST_ARGS)

## The suite without the tests that start server processes or a browser: for the edit loop.
test-fast: $(BIN)/.installed-dev messages
	@exports="$$($(BIN)/python -m apps.devtools.probe)" || exit 1; eval "$$exports"; \
	  SECRET_KEY=test-secret-key-not-for-production-0123456789abcdefghijklmnop SECURE=0 \
	  $(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
