# Tracker: one command for the demo, one for the tests. Everything runs from .venv (created on demand).
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PIP_CONFIG_FILE := /dev/null
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False

.PHONY: venv up down status demo test lint bench clean

$(BIN)/tracker: pyproject.toml requirements.lock
	@command -v $(PY) >/dev/null || { echo "needs $(PY) on PATH"; exit 1; }
	@$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet --user uv || $(PY) -m pip install --quiet uv
	$(PY) -m uv venv --allow-existing --python $(PY) $(VENV)
	$(PY) -m uv pip sync --quiet --compile-bytecode --python $(VENV)/bin/python requirements.lock
	$(PY) -m uv pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	@# bytecode up front (--compile-bytecode above, and here for our own code): where PYTHONDONTWRITEBYTECODE is
	@# set, every Airflow task, DAG parse and dbt run would otherwise compile its imports from source (≈ 2 s each)
	$(BIN)/python -m compileall -q -j 0 include plugins dags bench >/dev/null
	@touch $@

venv: $(BIN)/tracker

up: venv
	$(BIN)/tracker up

down:
	@if [ -x $(BIN)/tracker ]; then $(BIN)/tracker down; fi

status: venv
	$(BIN)/tracker status

# `make demo PEOPLE=20 REVOKED=1`: a demo study (tracker demo --people 20 --revoked 1)
demo: venv
	$(BIN)/tracker demo $(if $(PEOPLE),--people $(PEOPLE)) $(if $(REVOKED),--revoked $(REVOKED))

test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	cd dbt_project && ../$(BIN)/sqlfluff lint models tests macros

bench: venv
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean: down
	rm -rf .state
