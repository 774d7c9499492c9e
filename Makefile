# `make demo`: offline demo against the local exchange simulator. `make test`: lint + the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_PORT ?= 8765

.PHONY: install test lint demo benchmark mutation clean

$(BIN)/.installed: setup.py pyproject.toml marketdata_pipeline/indicators/_recursions.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest -n 2

demo: install
	@mkdir -p .data
	@export MARKETDATA_CONFIG=$(CURDIR)/marketdata.demo.yaml DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster_home}; \
	$(BIN)/marketdata simulate --port $(DEMO_PORT) --trades-per-minute 120 > .data/simulator.log 2>&1 & SIM=$$!; \
	trap 'kill $$SIM $$STREAM 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 100); do (echo > /dev/tcp/127.0.0.1/$(DEMO_PORT)) 2>/dev/null && break; sleep 0.1; done; \
	day() { $(BIN)/python -c "import datetime as d; print(d.date.today() - d.timedelta(days=$$1))"; }; \
	$(BIN)/marketdata sync --start $$(day 30) --data candles && \
	$(BIN)/marketdata sync --start $$(day 2) && \
	$(BIN)/marketdata series && \
	{ $(BIN)/marketdata stream > .data/stream.log 2>&1 & STREAM=$$!; } && \
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000

benchmark: install
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/ratelimit.py
	$(BIN)/python benchmarks/indicators.py
	$(BIN)/python benchmarks/books.py
	$(BIN)/python benchmarks/trades.py
	$(BIN)/python benchmarks/query.py
	$(BIN)/python benchmarks/startup.py

# Mutation testing of the core (pyproject's [tool.mutmut]): an hour or more on 2 cores, so not
# part of `make test`. Lists the surviving mutants, then `mutation: N killed, M survived`.
mutation: install
	$(BIN)/python -m pip install --quiet -e ".[mutation]"
	rm -rf mutants && mkdir mutants
	$(BIN)/mutmut run --max-children 1 > mutants/run.log 2>&1
	$(BIN)/mutmut results
	$(BIN)/mutmut export-cicd-stats > /dev/null
	@$(BIN)/python -c "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); \
	print(f\"mutation: {s['killed'] + s['timeout']} killed,\", \
	      f\"{s['survived'] + s['no_tests'] + s['suspicious']} survived\")"

clean:
	rm -rf $(VENV) .data .dagster_home mutants
