# Sluice: every target creates .venv on first use and reinstalls only when
# pyproject.toml or requirements.lock changed, so repeat runs are quick.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
PORT ?= 3000

export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
export SLUICE_DATA_DIR ?= $(CURDIR)/data

.PHONY: install demo test ui lint bench lock clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python requirements.lock
	@touch $@

# Regenerate the lock after editing dependencies in pyproject.toml.
lock: $(VENV)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -q -o requirements.lock

demo: $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m demo $(if $(SLUICE_DEMO_DATA),--youtube "$(SLUICE_DEMO_DATA)",)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Webserver and daemon (sensors, backfills) on the demo's instance.
ui: $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -p $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache
