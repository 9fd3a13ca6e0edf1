# amiable: every operational command goes through `amiable` (libs/cli); this file only
# bootstraps the toolchain (uv, then the locked environment) and names the entry points.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.9
STATE := $(or $(AMIABLE_STATE_DIR),$(CURDIR)/.amiable)
UV := $(shell command -v uv 2>/dev/null || echo $(STATE)/tools/bin/uv)
RUN := $(UV) run --frozen
PYTEST := $(RUN) pytest
# `make test` runs test files on this many processes (pytest-xdist); the stack is shared.
TEST_WORKERS ?= 2

.PHONY: help run test unit integration contract e2e lint fmt schemas docs clients bench stack-up stack-down clean

help:
	@echo "make run | test | unit | integration | contract | e2e | lint | fmt | schemas | docs | clients | bench | stack-up | stack-down | clean"

$(UV):
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "amiable needs Python 3.11 or newer: install python3.11"; exit 1; }
	python3 -m venv $(STATE)/tools
	$(STATE)/tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml libs/*/pyproject.toml services/*/pyproject.toml
	$(UV) sync --frozen
	@touch $@

run: .venv/.synced
	$(RUN) amiable run

test: .venv/.synced lint
	$(PYTEST) -n $(TEST_WORKERS) --dist loadfile

# unit: every test that needs no Kafka and no PostgreSQL (the contract tests among them); a test
# that needs the stack carries the integration or e2e marker (conftest.py refuses one that doesn't).
unit: .venv/.synced
	$(PYTEST) -m "not integration and not e2e"

integration: .venv/.synced
	$(PYTEST) -m integration

# contract: the event contract, with the one contract test that needs the broker
contract: .venv/.synced
	$(PYTEST) -m contract

e2e: .venv/.synced
	$(PYTEST) -m e2e tests/e2e

lint: .venv/.synced
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports

fmt: .venv/.synced
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

schemas: .venv/.synced
	$(RUN) python -m amiable_events.schemas write

# docs: the event catalog (a page per event type, the flow between the services) in build/docs
docs: .venv/.synced
	$(RUN) amiable docs --out build/docs

# clients: a typed Python client per service, generated from its OpenAPI document, in build/clients
clients: .venv/.synced
	$(RUN) amiable clients --out build/clients

bench: .venv/.synced
	$(RUN) python -m bench

stack-up: .venv/.synced
	$(RUN) amiable stack up

stack-down: .venv/.synced
	$(RUN) amiable stack down

clean:
	-$(RUN) amiable stack down
	rm -rf $(STATE) .venv .pytest_cache .ruff_cache build
