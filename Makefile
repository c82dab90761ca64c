# Headwater: the two commands that matter are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Airflow, for the DAG tests only: a virtualenv of its own (its dependencies are not ours)
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_INSTALLED := $(AIRFLOW_VENV)/.installed
# tools the tests need besides Python packages, installed into the checkout (not on PATH)
TOOLS := .tools/bin
KUSTOMIZE_VERSION := v5.7.1
KUSTOMIZE := $(TOOLS)/kustomize

.PHONY: help install airflow kustomize test test-unit test-integration test-badinput test-e2e test-reliability lint record-schemas \
        format demo stack-up stack-down stack-status clean dashboards kubernetes bench

help:  ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools  # the venv's bundled setuptools has advisories
	$(BIN)/pip install -q -e '.[test,dev]'
	touch $@

install: $(INSTALLED)  ## create .venv and install Headwater with its test and dev tools

$(AIRFLOW_INSTALLED): deploy/airflow/requirements.txt deploy/airflow/constraints.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install -q --upgrade pip
	$(AIRFLOW_VENV)/bin/pip install -q -r deploy/airflow/requirements.txt -c deploy/airflow/constraints.txt
	touch $@

airflow: $(AIRFLOW_INSTALLED)  ## create .venv-airflow (Airflow, pinned) for the DAG tests

$(KUSTOMIZE):
	GOBIN=$(CURDIR)/$(TOOLS) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

kustomize: $(KUSTOMIZE)  ## install kustomize (Go module proxy) into .tools/bin for the manifest tests

test: $(INSTALLED) $(AIRFLOW_INSTALLED) $(KUSTOMIZE)  ## every tier; starts the native stack when none is configured, stops it after
	$(BIN)/pytest tests

test-unit: $(INSTALLED) $(AIRFLOW_INSTALLED) $(KUSTOMIZE)  ## unit tests only (no services; the DAG tests run in .venv-airflow)
	$(BIN)/pytest tests/unit

test-integration: $(INSTALLED)  ## integration tests against the real stack
	$(BIN)/pytest tests/integration

test-badinput: $(INSTALLED)  ## the bad-input catalogue: malformed inputs per source and stage, real stack
	$(BIN)/pytest tests/badinput

test-e2e: $(INSTALLED)  ## end-to-end tests
	$(BIN)/pytest tests/e2e

test-reliability: $(INSTALLED)  ## the fault tier (a stack of its own; HEADWATER_FAULT_SEED replays a schedule)
	$(BIN)/pytest tests/reliability

lint: $(INSTALLED)  ## ruff (lint + format check), mypy, the layers (import-linter), schema compatibility, dependency audit
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m schemas.check
	$(BIN)/python .ci/dependency_audit.py

record-schemas: $(INSTALLED)  ## record changed .avsc files in schemas/history (make lint then checks them)
	$(BIN)/python -m schemas.history record

format: $(INSTALLED)  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

dashboards: $(INSTALLED)  ## regenerate the Grafana dashboards in deploy/grafana/dashboards
	$(BIN)/python -m control.dashboards deploy/grafana/dashboards

kubernetes: $(INSTALLED)  ## regenerate the generated files of deploy/kubernetes/base (after a topology or settings.env change)
	$(BIN)/python -m control.kubernetes deploy/kubernetes/base

stack-up: $(INSTALLED)  ## start Kafka, Connect + Debezium, PostgreSQL, Prometheus
	$(BIN)/headwater stack up

stack-down: $(INSTALLED)  ## stop what stack-up started
	$(BIN)/headwater stack down

stack-status: $(INSTALLED)  ## which parts of the stack are up
	$(BIN)/headwater stack status

bench: $(INSTALLED)  ## benchmarks (not tests): starts the stack if needed, prints one table (.bench/latest.json)
	$(BIN)/headwater stack up
	eval "$$($(BIN)/headwater stack env)" && $(BIN)/python bench/run.py $(foreach c,$(ONLY),--only $(c)) $(ARGS)

demo: $(INSTALLED)  ## the whole system, watched live (DURATION=60: stop after 60 s and reconcile)
	$(BIN)/headwater demo $(if $(DURATION),--duration $(DURATION))

clean:  ## remove the virtualenv and caches (not the stack's state)
	rm -rf $(VENV) $(AIRFLOW_VENV) .tools .mypy_cache .ruff_cache .pytest_cache
