# Sluice: every target creates .venv on first use and reinstalls only when
# pyproject.toml or requirements.lock changed, so repeat runs are quick.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
UV_VERSION := 0.13.9
PORT ?= 3000

export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
export SLUICE_DATA_DIR ?= $(CURDIR)/data

.PHONY: install install-spark system-deps demo test test-fast ui lint bench lock clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python requirements.lock
	@touch $@

# The optional Spark engine (pyspark, dbt-spark) on top of the default install: `make test`
# needs it for the Spark slice; `make demo` and users of the embedded default do not.
install-spark: $(SPARK_STAMP)

$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -r requirements-spark.lock
	@touch $@

# Regenerate the lock after editing dependencies in pyproject.toml.
lock: $(VENV)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -q -o requirements.lock
	cp requirements.lock requirements-spark.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra spark --python-version 3.11 -q \
	  -o requirements-spark.lock

demo: $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/python -m demo $(if $(SLUICE_DEMO_DATA),--youtube "$(SLUICE_DEMO_DATA)",)

# The whole suite, as CI runs it: unit, integration (real dbt, DuckDB, moto S3, Dagster)
# and e2e (`dagster dev` and headless Chromium).
test: $(SPARK_STAMP) system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tests only (pure code, no service): a few minutes.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit -m unit $(PYTEST_ARGS)

# System packages the tests need beyond Python: Debian's Chromium for the e2e UI test.
# Installed only when missing, as root, with apt-get; otherwise says why not (the e2e UI
# test then skips, saying why). Tests never install anything themselves.
CHROMIUM_DEB := /usr/bin/chromium
system-deps:
	@if [ -x $(CHROMIUM_DEB) ] || [ -n "$$SLUICE_CHROMIUM" ] || [ -n "$$(command -v chromium \
	    || command -v chromium-browser || command -v google-chrome || command -v google-chrome-stable)" ]; then :; \
	elif [ "$$(id -u)" != 0 ]; then \
	  echo "system-deps: Chromium missing, not installing it (not root); the e2e UI test will" \
	    "skip. Install it with: sudo apt-get install -y chromium"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
	  echo "system-deps: Chromium missing, not installing it (no apt-get here); the e2e UI test" \
	    "will skip. Install Chromium or Chrome, or set SLUICE_CHROMIUM=/path/to/it"; \
	else \
	  echo "system-deps: installing Chromium (apt-get install chromium)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	    || echo "system-deps: apt-get could not install Chromium; the e2e UI test will skip"; \
	fi

# Webserver and daemon (sensors, backfills, run monitoring) on the demo's instance. An
# instance made before a section of dagster.yaml existed keeps its own copy, which is never
# overwritten (it may be customized): say what it lacks. Without run_monitoring and the run
# launcher, a killed run holds the warehouse pool until someone frees it.
# `dagster dev` starts in DAGSTER_HOME: started here it warns that ./dagster.yaml is not used
# (it is not: its copy in DAGSTER_HOME is); PYTHONPATH keeps the repo importable for the
# instance's run launcher (resources.run_launcher). Services log at WARNING: at INFO every sensor
# tick printed a line ("skipped: no new files"); ticks and their reasons are on the UI's
# Automation page. PYTHONWARNINGS drops Dagster 1.13's advice to use `dg dev`/`dg launch`:
# dg (dagster-dg-cli) is not installed, and `dagster dev` is what this project supports.
UI_HOME := $(abspath $(DAGSTER_HOME))
DG_ADVICE := ignore:Function \`dev_command\` is superseded,ignore:Function \`asset_materialize_command\` is superseded
ui: $(STAMP)
	@mkdir -p $(UI_HOME)
	@test -f $(UI_HOME)/dagster.yaml || cp dagster.yaml $(UI_HOME)/dagster.yaml
	@missing=""; for key in $$(grep -oE '^[a-z_]+:' dagster.yaml); do \
	  grep -q "^$$key" $(UI_HOME)/dagster.yaml || missing="$$missing $${key%:}"; done; \
	  test -z "$$missing" || echo "ui: WARNING: $(UI_HOME)/dagster.yaml lacks$$missing" \
	    "(set in ./dagster.yaml); copy it over (cp dagster.yaml $(UI_HOME)/) or merge them"
	@echo "ui: Dagster UI on http://localhost:$(PORT) (instance $(UI_HOME); Ctrl-C stops it)"
	cd $(UI_HOME) && DAGSTER_HOME=$(UI_HOME) PYTHONPATH=$(CURDIR)$${PYTHONPATH:+:$$PYTHONPATH} \
	  PYTHONWARNINGS="$(DG_ADVICE)" \
	  $(CURDIR)/$(BIN)/dagster dev -w $(CURDIR)/workspace.yaml -p $(PORT) --log-level warning

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache
