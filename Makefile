# Two commands do everything: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
BIN       := $(VENV)/bin
PY        := $(BIN)/python
STAMP     := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json | cksum | cut -d' ' -f1)
MO_FILES  := $(patsubst %.po,%.mo,$(wildcard src/ablesung/locale/*/LC_MESSAGES/django.po))

.PHONY: help install run test lint typecheck pytest bench clean

help:
	@echo "make run    – install, prepare the SQLite database and demo data, start HTTPS server + worker"
	@echo "make test   – lint, type checks and the whole test suite"
	@echo "make bench  – benchmarks (not part of make test)"

$(STAMP): requirements.lock pyproject.toml
	@bash scripts/python-check.sh
	rm -f $(VENV)/.installed-*
	test -x $(PY) || $$(bash scripts/python-check.sh --print) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -f node_modules/.installed-*
	touch $@

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

install: $(STAMP) $(NODE_STAMP) $(MO_FILES)

run: install
	$(BIN)/ablesung migrate --verbosity 0
	$(BIN)/ablesung load_demo
	$(BIN)/ablesung start

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy src tests

pytest: install
	# the plausibility package must stay at 100 % line and branch coverage
	env -u DATABASE_URL $(BIN)/pytest --cov --cov-report=term
	@if [ -n "$$DATABASE_URL" ]; then \
		echo "== again on $${DATABASE_URL%%://*} =="; \
		ABLESUNG_DATABASE_TESTS_ONLY=1 $(BIN)/pytest -m "not browser" -p no:cacheprovider; \
	fi

test: lint typecheck pytest

bench: install
	$(PY) tests/bench/run.py

clean:
	rm -rf $(VENV) node_modules var/static
