# Set-up is part of every target: a fresh clone needs only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run test test-fast lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/dvc repro

# Everything, in random order (pytest-randomly): what CI runs.
test: install
	$(BIN)/python -m pytest

# No model loading, no pipeline: under a minute on 2 cores, for the edit-test loop.
test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

clean:
	rm -rf $(VENV) mlflow.db mlartifacts .dvc/cache .dvc/tmp data/vectors
