# nodered-scale: `make test` (fresh machine: installs what it needs, runs every test), `make up` / `make down`
# (the dev stack on local Docker with a local Pulumi state), `make bench` (figures, no assertions).
SHELL := /bin/bash
VENV := venv
PY := $(VENV)/bin/python
STACK ?= dev
# Local file state backend: no Pulumi Cloud account needed. Give the secrets passphrase in
# PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE); see README.
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
PULUMI ?= pulumi
# Node.js from PyPI wheels, never the machine's own: 24, the image's line, first on PATH for every recipe
# (node, npm, the JS suites); 22 for the storage and context tests against Node-RED 4.1 (test-node-red-4.1).
# local_stack/node_lines.py makes these bin folders (make python-deps) and picks them for the local stack.
export PATH := $(CURDIR)/$(VENV)/node24/bin:$(PATH)
NODE_LINE := $(PY) -m local_stack node run

.PHONY: test test-js test-node-red-4.1 test-fast lint format install system-deps python-deps node-deps lock up down preview bench status

# Every test, real processes included (a few minutes), on Node-RED 5 and Node.js 24 (the image's line), and
# the storage and context tests again on Node-RED 4.1 and Node.js 22, the line still selectable. The lint
# and the two lines' JavaScript suites run side by side (the suites mostly wait on timers; each starts its
# own servers on free ports; output kept per target), then pytest on two workers (the machine's 2 cores), a
# file's tests on one: its module fixtures (a whole stack) start once.
test: install
	$(MAKE) -j3 --output-sync=target lint test-js test-node-red-4.1
	$(PY) -m pytest -n 2 --dist loadfile

# The JavaScript suites on Node-RED 5 and Node.js 24.
test-js: node-deps
	node --test mongo/test/*.test.js
	cd nodered_image/storage && npm test
	cd nodered_image/context && npm test
	cd nodered_image && npm test

# The storage and context module tests against Node-RED 4.1 on Node.js 22 (about two minutes).
test-node-red-4.1: python-deps node-deps
	$(NODE_LINE) 4.1 -- node -p '`Node.js $${process.version}, Node-RED $${require("node-red/package.json").version}`'
	$(NODE_LINE) 4.1 -- npm --prefix nodered_image/storage test
	$(NODE_LINE) 4.1 -- npm --prefix nodered_image/context test

# Seconds, no server processes: Pulumi mocks, config, the router renderer, the environment contract, the
# status report. (The status command's CLI tests run it against a database server: `make test` has them.)
# One pytest worker per core (pytest-xdist); a file's tests share a worker, so module fixtures start once.
FAST_TESTS := tests/pulumi tests/contract tests/nginx/test_render.py tests/status/test_report.py
test-fast: python-deps
	$(PY) -m pytest -q -n auto --dist loadfile $(FAST_TESTS)

lint: python-deps node-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	cd nodered_image && npm run --silent lint

format: python-deps
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

install: system-deps python-deps node-deps

system-deps:
	scripts/install-system-deps.sh

python-deps: $(VENV)/.installed
# Hashed locks: requirements.txt (the program's runtime, what Pulumi installs) and requirements-dev.txt
# (runtime + tests and tools). Edit the .in files, then `make lock`.
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-node22.txt local_stack/node_lines.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements-dev.txt
	$(PY) -m pip install -q --require-hashes --no-deps --upgrade --target $(VENV)/node22/site -r requirements-node22.txt
	$(PY) -m local_stack node install
	touch $@

PIP_COMPILE := $(PY) -m piptools compile -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock: python-deps
	$(PY) -m pip install -q pip-tools==7.6.2
	$(PIP_COMPILE) -o requirements.txt requirements.in
	$(PIP_COMPILE) -o requirements-dev.txt requirements-dev.in
	$(PIP_COMPILE) -o requirements-node22.txt requirements-node22.in

# npm of Node.js 24 (the venv's: python-deps first).
node-deps: nodered_image/node_modules/.installed nodered_image/storage/node_modules/.installed \
	nodered_image/context/node_modules/.installed local_stack/node-red-4.1/node_modules/.installed
nodered_image/node_modules/.installed: nodered_image/package-lock.json nodered_image/storage/package-lock.json \
	nodered_image/context/package-lock.json | $(VENV)/.installed
	cd nodered_image && npm ci --no-audit --no-fund
	touch $@
nodered_image/storage/node_modules/.installed: nodered_image/storage/package-lock.json | $(VENV)/.installed
	cd nodered_image/storage && npm ci --no-audit --no-fund
	touch $@
nodered_image/context/node_modules/.installed: nodered_image/context/package-lock.json | $(VENV)/.installed
	cd nodered_image/context && npm ci --no-audit --no-fund
	touch $@
# Node-RED 4.1 for its line (local_stack/node_lines.py), installed apart from the image's.
local_stack/node-red-4.1/node_modules/.installed: local_stack/node-red-4.1/package-lock.json | $(VENV)/.installed
	cd local_stack/node-red-4.1 && npm ci --no-audit --no-fund
	touch $@

# `make up`: the dev stack on the local Docker engine. Creates the local state and the stack when missing;
# EDITOR_PASSWORD=... sets the editor password the first time (kept encrypted in Pulumi.dev.yaml).
up: python-deps
	PYTHON=$(PY) scripts/pulumi-stack.sh $(STACK)
	$(PULUMI) up --stack $(STACK) $(UP_FLAGS)

preview: python-deps
	PYTHON=$(PY) scripts/pulumi-stack.sh $(STACK)
	$(PULUMI) preview --stack $(STACK)

down:
	$(PULUMI) destroy --stack $(STACK) $(UP_FLAGS)

bench: install
	$(PY) bench/run_all.py

status: python-deps
	$(PY) -m nodered_status
