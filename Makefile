# Lockgate: the two commands that matter are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Re-install whenever the pins or the package metadata change.
STAMP  := $(VENV)/.installed

.PHONY: install install-bench demo test lint typecheck imports manifest unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

install-bench: $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,bench]"

# With no LOCKGATE_DATABASE_URL, Lockgate starts an embedded PostgreSQL under ./.lockgate/.
demo: install
	@echo "== database: migrate (embedded PostgreSQL unless LOCKGATE_DATABASE_URL is set) =="
	$(BIN)/lockgate migrate
	@echo "== load the bundled real Binance candles (data/README.md) =="
	$(BIN)/lockgate load-candles data/candles/*.csv
	@echo "== ma_crossover 20/50 on BTC/USDT 1h, from the database =="
	$(BIN)/lockgate backtest --strategy ma_crossover --param fast=20 --param slow=50 \
		--exchange binance --symbol BTC/USDT --timeframe 1h --fee-bps 10 --initial-cash 10000 \
		--save --trades-out out/demo_trades.csv --plot out/demo_equity.png
	@echo "round trips: out/demo_trades.csv, equity chart: out/demo_equity.png"
	@echo "== data platform: bundled real trades and candles through Dagster and dbt =="
	$(BIN)/lockgate build --trades-dir data/trades --candles-dir data/candles
	@echo "lineage and asset health in the Dagster UI: $(BIN)/lockgate dagster  ->  http://127.0.0.1:3000"
	@echo "the embedded database keeps running for other Lockgate processes; stop it with:"
	@echo "  $(BIN)/lockgate db stop"

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

# Dagster imports the dbt manifest: parse the project first (a no-op when it is current).
manifest: install
	$(BIN)/python -m orchestration.manifest

unit: install manifest
	$(BIN)/python -m pytest -q

test: lint typecheck imports unit

bench: install-bench
	$(BIN)/python bench/backtest.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/sweep.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
