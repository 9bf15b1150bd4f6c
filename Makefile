# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
DEMO_PASSWORD ?= yunxi-demo-2026
PYTEST_ARGS ?=

.PHONY: install system-deps run test docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

system-deps:
	@bash scripts/system-deps.sh

run: install
	$(BIN)/referral db upgrade
	$(BIN)/referral seed-demo --password '$(DEMO_PASSWORD)'
	$(BIN)/referral serve --host $(HOST) --port $(PORT)

test: install system-deps
	$(BIN)/referral docs --check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

docs: install
	$(BIN)/referral docs

bench: install
	@bash scripts/system-deps.sh bench
	@echo "benchmarks: run the scripts in bench/ (see bench/README.md)"

clean:
	rm -rf $(VENV) instance .pytest_cache
