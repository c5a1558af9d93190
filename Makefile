# Contract Refund Eligibility
#
#   make run    set up, migrate, seed and start web + worker (embedded default, or DATABASE_URL /
#               REDIS_URL when set); Ctrl-C stops both
#   make test   the whole test suite with coverage (needs PostgreSQL and Redis; see README)
#   make screenshots   the console's screenshots in docs/ (needs what make test needs, and Chromium)

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app api
HOST ?= 127.0.0.1

.PHONY: run test lint install install-dev node-deps migrate seed web worker beat flower bench screenshots clean help

help:
	@sed -n '3,7p' Makefile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

# The console has no build step; npm brings only the browser tests' axe-core, pinned by
# package-lock.json. Without node the step is skipped with a note (the browser tests then say so).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "note: npm not found; the browser tests' accessibility checks need node (npm ci)"; fi

node-deps: node_modules/.installed

# As the owner role of MIGRATION_DATABASE_URL when it is set, else as DATABASE_URL's role.
migrate: install
	$(FLASK) db upgrade

seed: install
	$(FLASK) seed

# Web and worker in one terminal; the trap stops both on Ctrl-C or when either exits.
run: migrate seed node-deps
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	port=$${PORT:-8000}; \
	$(BIN)/celery -A workers worker -Q interactive,bulk --loglevel $${LOG_LEVEL:-INFO} & \
	$(BIN)/gunicorn --bind $(HOST):$$port --workers $${WEB_CONCURRENCY:-2} --threads 4 'api:create_app()' & \
	echo ""; \
	echo "  Contract Refund Eligibility is running at http://$(HOST):$$port"; \
	echo "  Console: http://$(HOST):$$port/ (sign in with the API token below)"; \
	echo "  API docs: http://$(HOST):$$port/docs    health: http://$(HOST):$$port/health"; \
	token_file=$${DATA_DIR:-var}/dev-token; \
	if [ -f "$$token_file" ]; then \
	echo "  Development API token (admin, kept in $$token_file):"; \
	echo "    export TOKEN=$$(cat $$token_file)"; \
	echo "    curl -H \"Authorization: Bearer \$$TOKEN\" http://$(HOST):$$port/api/v1/me"; \
	fi; \
	echo "  Ctrl-C stops the web and the worker."; \
	echo ""; \
	wait -n; exit 1

web: migrate
	$(BIN)/gunicorn --bind $(HOST):$${PORT:-8000} --workers $${WEB_CONCURRENCY:-2} --threads 4 'api:create_app()'

worker: install
	$(BIN)/celery -A workers worker -Q interactive,bulk --loglevel $${LOG_LEVEL:-INFO}

beat: install
	$(BIN)/celery -A workers beat --loglevel $${LOG_LEVEL:-INFO}

flower: install
	$(BIN)/python -m workers.flower

test: $(VENV)/.dev-installed node-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The README's screenshots of the console, from the demo contracts in a headless Chromium.
screenshots: $(VENV)/.dev-installed node-deps
	$(BIN)/python -m pytest tests/browser/screenshots.py -q --no-cov -p no:cacheprovider $(PYTEST_ARGS)

# Errors only (undefined names, unused imports, syntax): style is left to review.
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check --select F,E9 --exclude .venv .

# Every benchmark in bench/, one at a time, then docs/benchmarks.md; BENCH_ARGS="--quick", "--only NAME".
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .coverage .coverage.* htmlcov
