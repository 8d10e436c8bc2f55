# Lockgate: the two commands that matter are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Re-install whenever the pins or the package metadata change.
STAMP  := $(VENV)/.installed

.PHONY: install install-bench demo test lint typecheck imports unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

install-bench: $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,bench]"

demo: install
	@echo "== ma_crossover 20/50 on real Binance BTC/USDT 1h candles (data/README.md) =="
	$(BIN)/lockgate backtest --strategy ma_crossover --param fast=20 --param slow=50 \
		--csv data/candles/binance_BTC-USDT_1h.csv --fee-bps 10 --initial-cash 10000 \
		--trades-out out/demo_trades.csv --plot out/demo_equity.png
	@echo "round trips: out/demo_trades.csv, equity chart: out/demo_equity.png"

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

unit: install
	$(BIN)/python -m pytest -q

test: lint typecheck imports unit

bench: install-bench
	$(BIN)/python bench/backtest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
