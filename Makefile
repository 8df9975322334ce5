# Milepost — every entry point a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
# Python >= 3.12: the version in .python-version through pyenv, else python3.12/3.13 on PATH.
PYTHON ?= $(shell (pyenv which python3.12 || pyenv which python3.13 || command -v python3.12 || command -v python3.13) 2>/dev/null | head -n 1)
UV := .tools/bin/uv
VENV := .venv
SYNCED := $(VENV)/.synced
NODE_STAMP := node_modules/.installed
VENDOR := src/milepost/web/static/vendor/.copied
PG_URL ?= postgres://postgres@127.0.0.1:5432/milepost

.PHONY: help demo test test-sqlite test-postgres test-e2e screenshots lint format serve install static bench bench-quick sbom audit security load crash clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 not found (pyenv install 3.12, or set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SYNCED): pyproject.toml uv.lock | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	$(VENV)/bin/python -m compileall -q src
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENDOR): $(NODE_STAMP) scripts/copy-vendor.sh
	scripts/copy-vendor.sh
	@touch $@

install: $(SYNCED) $(VENDOR) ## Create .venv from the lock file and copy front-end libraries

static: $(VENDOR)

demo: install ## Run the app on SQLite with demo data at http://127.0.0.1:8000 (PORT=8001 for another port)
	$(VENV)/bin/milepost demo $(if $(PORT),--port $(PORT))

test: install ## Run the whole suite on SQLite, then on PostgreSQL
	scripts/test.sh

test-sqlite: install
	scripts/test.sh sqlite

test-postgres: install
	scripts/test.sh postgres

screenshots: install ## Refresh the user guide's pictures in docs/screenshots (runs the browser tests)
	MILEPOST_UPDATE_SCREENSHOTS=1 $(VENV)/bin/pytest -m e2e 

lint: install ## ruff and mypy (strict)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src

format: install
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

serve: install ## Production-like server (DEBUG off, gunicorn 2 workers) on DATABASE_URL
	MILEPOST_ENV=production $(VENV)/bin/milepost serve

sbom: install ## Software bill of materials (CycloneDX JSON) in var/sbom.json
	@mkdir -p var
	$(VENV)/bin/cyclonedx-py environment $(VENV) --output-format JSON --output-file var/sbom.json
	@echo "SBOM written to var/sbom.json"

security: install ## Static security (ruff S, bandit) and known vulnerabilities in runtime deps
	$(VENV)/bin/ruff check --select S src bench/load scripts
	$(VENV)/bin/bandit -r src -q --severity-level medium --confidence-level medium
	$(VENV)/bin/python scripts/dependency_audit.py

load: install ## Load test: 50 users, 2 min, production server on PostgreSQL, demo data (bench/results)
	$(VENV)/bin/python -m bench.load.run_load --users 50 --duration $(or $(LOAD_SECONDS),120) --pg $(dir $(PG_URL))

crash: install ## Crash safety: SIGKILL a server worker during a check-in load on PostgreSQL
	$(VENV)/bin/python -m bench.load.crash_test --duration $(or $(CRASH_SECONDS),25) --pg $(dir $(PG_URL))

bench-quick: install ## Every benchmark at a tenth of full size (PostgreSQL)
	$(VENV)/bin/python -m bench.run --scale 0.1

bench: install ## Full-size benchmarks (PostgreSQL; may take an hour)
	$(VENV)/bin/python -m bench.run --scale 1

clean:
	rm -rf .venv .tools node_modules var src/milepost/web/static/vendor
