# Komando: `make run` and `make test` do all set-up on a fresh machine (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check --require-hashes

.PHONY: run test lint format lock bench clean

# First start: an admin with a random password is made and shown once (never when one exists).
run: $(VENV)/.run-deps
	$(BIN)/python -m data users first-run
	$(BIN)/python app.py

test: $(VENV)/.test-deps
	bash scripts/ensure-chromium
	bash scripts/ensure-postgres
	bash scripts/ensure-mosquitto
	bash scripts/ensure-media-server
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.test-deps
	$(BIN)/python bench/backend/run.py --quick

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: requirements.lock | $(BIN)/python
	$(PIP) -r requirements.lock
	touch $@

$(VENV)/.test-deps: requirements-test.lock | $(BIN)/python
	$(PIP) -r requirements-test.lock
	touch $@ $(VENV)/.run-deps

# Re-pin after editing pyproject.toml (needs the package registry; uv is a dev-only tool).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --no-header \
		-o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 --generate-hashes \
		--no-header -o requirements-test.lock

clean:
	rm -rf $(VENV) var tests/artifacts .pytest_cache .ruff_cache
