# Two commands on a fresh machine: `make run` starts the dashboard, `make test` runs the tests.
# Both create .venv the first time: `make run` installs the runtime (requirements.txt), `make test`
# adds the development tools (requirements-dev.txt: pytest, ruff, Playwright, Surprise,
# Hypothesis).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

.PHONY: run test test-quick lint clean

# --no-compile: no byte-compiling of every installed file up front (torch alone has thousands);
# Python compiles the modules it imports the first time, which is far fewer.
PIP := $(BIN)/python -m pip install --quiet --no-compile --disable-pip-version-check

$(RUNTIME): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	touch $(RUNTIME)

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $(DEV)

run: $(RUNTIME)
	$(BIN)/python -m ui.launch $(ARGS)

lint: $(DEV)
	$(BIN)/ruff check movierec tests ui pages app.py benchmarks docs/screenshots

# The tests run on every core (pytest-xdist); `.venv/bin/python -m pytest` runs them one by one.
test: $(DEV) lint
	$(BIN)/python -m pytest -n auto

# The quick loop while working: everything but the browser, torchrun, build and long real-data
# tests (CI runs them all).
test-quick: $(DEV) lint
	$(BIN)/python -m pytest -n auto -m "not slow"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
