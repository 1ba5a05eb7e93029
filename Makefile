# Jianguan: `make run` and `make test` set up everything that is missing, then run.
# Each step is idempotent and quick when already done (stamp files keyed on the manifests).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:

PYTHON      ?= python3
PORT        ?= 5000
PYTEST_ARGS ?=

VENV  := .venv
PY    := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app

DEPS_STAMP   := $(VENV)/.jianguan-deps
NPM_STAMP    := node_modules/.jianguan-installed
VENDOR_STAMP := web/static/vendor/.jianguan-vendored

# [project].dependencies plus the `test` extra, read from pyproject.toml (the project itself
# is not a package: only its dependencies are installed).
define INSTALL_DEPS
import subprocess, sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
reqs = project["dependencies"] + project.get("optional-dependencies", {}).get("test", [])
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "-q",
                          "--disable-pip-version-check", *reqs]))
endef
export INSTALL_DEPS

.PHONY: help venv system assets services run run-services test clean

help:
	@echo "make run      set up and run the platform on http://127.0.0.1:$(PORT) (PORT=...)"
	@echo "make test     set up and run every test (PYTEST_ARGS='-k ...')"
	@echo "make venv     .venv with the Python packages of pyproject.toml"
	@echo "make system   missing Debian packages (CJK fonts, Pango, HarfBuzz, poppler, Node.js)"
	@echo "make assets   npm packages and their files copied to web/static/vendor/"
	@echo "make services PostgreSQL, Redis and Mosquitto on 127.0.0.1 for the tests"
	@echo "make run-services  the platform as separate processes (Procfile) on PostgreSQL, Redis, Mosquitto"
	@echo "make clean    remove var/, web/static/vendor/ and stamps (keeps .venv)"

# --- Python ----------------------------------------------------------------------------

venv: $(DEPS_STAMP)

$(PY):
	@echo "==> creating $(VENV)"
	@command -v $(PYTHON) >/dev/null || scripts/ensure_system.sh packages python3 python3-venv
	@if ! $(PYTHON) -m venv $(VENV); then \
	    echo "==> python -m venv failed; installing Debian python3-venv"; \
	    rm -rf $(VENV); \
	    scripts/ensure_system.sh packages python3-venv; \
	    $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); /usr/bin/python3 -m venv $(VENV); }; \
	fi
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 needed, got " + sys.version)'

$(DEPS_STAMP): pyproject.toml | $(PY)
	@echo "==> installing Python packages from pyproject.toml"
	@$(PY) -c "$$INSTALL_DEPS"
	@touch $@

# --- Debian packages -------------------------------------------------------------------

system:
	@scripts/ensure_system.sh runtime

# --- Front-end files -------------------------------------------------------------------

assets: $(VENDOR_STAMP)

$(NPM_STAMP): package.json $(wildcard package-lock.json)
	@scripts/ensure_system.sh node
	@# --ignore-scripts: the vendored packages ship built files; no install hooks (telemetry)
	@if [ -f package-lock.json ]; then \
	    echo "==> npm ci"; \
	    SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error; \
	else \
	    echo "==> npm install"; \
	    SCARF_ANALYTICS=false npm install --ignore-scripts --no-audit --no-fund --loglevel=error; \
	fi
	@touch $@

$(VENDOR_STAMP): $(NPM_STAMP) scripts/vendor_assets.sh
	@scripts/vendor_assets.sh
	@touch $@

# --- Servers for the tests -------------------------------------------------------------

services:
	@scripts/ensure_services.sh

# --- The two commands ------------------------------------------------------------------

run: venv system assets
	@echo "==> flask setup"
	$(FLASK) setup
	@echo "==> flask load-demo"
	$(FLASK) load-demo --if-empty
	@echo "==> serving on http://127.0.0.1:$(PORT)"
	$(FLASK) serve --host 127.0.0.1 --port $(PORT)

# web (gunicorn), Celery worker and beat, MQTT listener: docs/deployment.md
run-services: venv system assets services
	PORT=$(PORT) scripts/run_services.sh

test: venv system assets services
	TZ=UTC $(PY) -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf var web/static/vendor $(DEPS_STAMP) $(NPM_STAMP)
