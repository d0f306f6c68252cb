# forecaster: `make` lists the targets. Every target calls the same `forecaster` command line.
# Variables pass through to it, e.g.  make train DATA=data/seattle-weather.csv TARGET=temp_max
# Many series: TARGET=a,b,c or TARGET=all (a wide file), ID_COL=store (a long file); SERIES=a,b
# restricts evaluate and forecast to some of them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The install stamp is keyed on pyproject.toml's content: edit it and the next target reinstalls.
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
# make benchmark runs in its own environment, with the bench extra (statsforecast, for the
# statistical references): statsforecast 2.1 requires pandas < 3, which .venv must not be moved to.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

DATA ?= data/us-births-daily.csv
MODEL_DIR ?= models/$(basename $(notdir $(DATA)))
REPORT_DIR ?= reports/$(notdir $(MODEL_DIR))
FORECAST ?= forecasts/$(notdir $(MODEL_DIR)).csv

flag = $(if $($(1)),--$(2) $($(1)))
TRAIN_FLAGS = $(call flag,TIME_COL,time-col) $(call flag,TARGET,target) $(call flag,ID_COL,id-col) \
	$(call flag,FEATURES,features) $(call flag,TIME_STEPS,time-steps) $(call flag,HORIZON,horizon) \
	$(call flag,EPOCHS,epochs) $(call flag,BATCH_SIZE,batch-size) $(call flag,UNITS,units) \
	$(call flag,SEED,seed) $(call flag,ENSEMBLE,ensemble) $(call flag,CONFIG,config)

.DEFAULT_GOAL := help
.PHONY: help install train evaluate forecast explain benchmark panels future bench test lint clean

help: ## list the targets
	@echo "usage: make TARGET [DATA=file.csv TARGET=column HORIZON=n ...]"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## create .venv (if missing) and install forecaster with its dev tools

train: $(STAMP) ## train on DATA (default: daily US births, 1994-2003) into MODEL_DIR
	$(BIN)/forecaster train --csv $(DATA) --model-dir $(MODEL_DIR) $(TRAIN_FLAGS)

evaluate: $(STAMP) ## score MODEL_DIR on its held-out test split; metrics and plot in REPORT_DIR
	$(BIN)/forecaster evaluate --model-dir $(MODEL_DIR) --output-dir $(REPORT_DIR) $(call flag,SERIES,series)

forecast: $(STAMP) ## forecast past the end of DATA with MODEL_DIR into FORECAST (and a plot)
	@mkdir -p $(dir $(FORECAST))
	$(BIN)/forecaster forecast --model-dir $(MODEL_DIR) --csv $(DATA) --output $(FORECAST) \
		--plot $(basename $(FORECAST)).png $(call flag,HORIZON,horizon) $(call flag,SERIES,series)
	@cat $(FORECAST)

explain: $(STAMP) ## take apart the forecast after the end of DATA (or from ORIGIN): explain.png and .json in REPORT_DIR
	$(BIN)/forecaster explain --model-dir $(MODEL_DIR) --csv $(DATA) --output $(REPORT_DIR)/explain.png \
		$(call flag,ORIGIN,origin) $(call flag,SERIES,series)

$(BENCH_STAMP): pyproject.toml
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[dev,bench]'
	@rm -f $(BENCH_VENV)/.installed-*
	@touch $@

benchmark: $(BENCH_STAMP) ## backtest the default and the classic recipe against the baselines and statistical references (own environment, .venv-bench), bundled and generated series; then the default on 8 draws of the short generated series
	$(BENCH_VENV)/bin/python -m benchmarks.backtests
	$(BENCH_VENV)/bin/python -m benchmarks.replicates

panels: $(STAMP) ## one global model over many series: against seasonal naive and per-series LSTMs (docs/many-series.md)
	$(BIN)/python -m benchmarks.many_series

future: $(STAMP) ## inputs known ahead: a generated promotions panel with --future, as past --features and without (docs/benchmarks.md)
	$(BIN)/python -m benchmarks.future

bench: $(STAMP) ## speed and memory side by side: training vs plain Keras, windows, a 10M-row CSV, cold forecast, mirrored, panels of 10 to 10,000 series
	$(BIN)/python -m benchmarks.speed

test: $(STAMP) ## run the whole test suite (unit, end-to-end and the notebook), one worker per core (at most 4)
	$(BIN)/python -m pytest --numprocesses auto --maxprocesses 4

lint: $(STAMP) ## check the code with ruff
	$(BIN)/ruff check forecaster tests benchmarks

clean: ## remove trained models, reports, forecasts, bench runs and caches (keeps .venv)
	rm -rf models reports forecasts runs .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
