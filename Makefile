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

.PHONY: test install system-deps python-deps node-deps up down preview bench status

test: install
	node --test mongo/test/*.test.js
	cd nodered_image/storage && npm test
	$(PY) -m pytest

install: system-deps python-deps node-deps

system-deps:
	scripts/install-system-deps.sh

python-deps: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-lock.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

node-deps: nodered_image/node_modules/.installed nodered_image/storage/node_modules/.installed
nodered_image/node_modules/.installed: nodered_image/package-lock.json nodered_image/storage/package-lock.json
	cd nodered_image && npm ci --no-audit --no-fund
	touch $@
nodered_image/storage/node_modules/.installed: nodered_image/storage/package-lock.json
	cd nodered_image/storage && npm ci --no-audit --no-fund
	touch $@

# `make up`: the dev stack on the local Docker engine. Creates the local state and the stack when missing;
# EDITOR_PASSWORD=... sets the editor password the first time (kept encrypted in Pulumi.dev.yaml).
up: python-deps
	scripts/pulumi-stack.sh $(STACK)
	$(PULUMI) up --stack $(STACK) $(UP_FLAGS)

preview: python-deps
	scripts/pulumi-stack.sh $(STACK)
	$(PULUMI) preview --stack $(STACK)

down:
	$(PULUMI) destroy --stack $(STACK) $(UP_FLAGS)

bench: install
	$(PY) bench/run_all.py

status: python-deps
	$(PY) -m nodered_status
