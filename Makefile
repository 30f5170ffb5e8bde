# The two commands of the README: `make demo` and `make test`. Both start from a clean clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The exact versions every developer and CI install (README, "Dependencies"); `make lock` renews.
DEV_LOCK := requirements/dev.lock
RUNTIME_LOCK := requirements/runtime.lock
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --quiet
DEMO_DB ?= sqlite:///./demo.db
# `make demo PORT=8001`: where the demo serves, and what its texts' links point to
PORT ?= 8000
export TESTROTA_CONFIG_DIR ?= ./config

.PHONY: demo test lint format format-check typecheck coverage lock bench bench-group clean \
  browser-deps \
  screenshots

# The locked versions first, then the project itself without resolving anything again.
$(STAMP): pyproject.toml $(DEV_LOCK)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r $(DEV_LOCK)
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/pip check
# an editable install compiles none of the package's modules, and a shell that sets
# PYTHONDONTWRITEBYTECODE would compile them from source at every start of a command
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

# Renew both lock files from pyproject.toml: keeps the pinned versions that still fit, adds what
# is new. `make lock LOCK_ARGS=--upgrade` moves everything to the newest allowed versions;
# `LOCK_ARGS="--upgrade-package fastapi"` just one.
lock:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install -q 'uv<1'
	$(UV_COMPILE) $(LOCK_ARGS) --extra postgres -o $(RUNTIME_LOCK)
	$(UV_COMPILE) $(LOCK_ARGS) --extra dev --extra postgres -o $(DEV_LOCK)

browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
	  echo "installing chromium and fonts-noto-cjk for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	    || echo "could not install chromium; browser tests will be skipped"; \
	fi

# Seeds the sample rosters with a realistic past week, shows what the CLI shows, then serves the
# web app with the console SMS backend and the job worker in-process.
demo: $(STAMP)
	rm -f demo.db demo.db-wal demo.db-shm
	$(BIN)/testrota init --db $(DEMO_DB)
	$(BIN)/testrota demo --db $(DEMO_DB) --port $(PORT) --no-serve > /dev/null
	COLUMNS=160 $(BIN)/testrota compliance --db $(DEMO_DB) --weeks 2 | head -28
	COLUMNS=160 $(BIN)/testrota missed --db $(DEMO_DB) --format table | head -24
	COLUMNS=160 $(BIN)/testrota outbox --db $(DEMO_DB) --limit 8
	$(BIN)/testrota demo --db $(DEMO_DB) --port $(PORT)

test: $(STAMP) browser-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q -n 2 $(PYTEST_ARGS)

# The whole suite with line and branch coverage of src/ (subprocesses included): a summary
# table on the terminal, htmlcov/index.html and coverage.xml. Slower than `make test`.
coverage: $(STAMP) browser-deps
	rm -f .coverage .coverage.*
	$(BIN)/pytest -q -n 2 --cov --cov-report=term:skip-covered --cov-report=html \
	  --cov-report=xml $(PYTEST_ARGS)

# The browser tests, keeping their screenshots for the README (a plain test run keeps them in a
# temporary directory, so it never changes the work tree).
screenshots: $(STAMP) browser-deps
	TESTROTA_SCREENSHOTS=docs/screenshots TESTROTA_TEST_DATABASE_URL= \
	  $(BIN)/pytest -q -p no:cacheprovider tests/test_browser_web.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format-check: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# mypy --strict on src/ (pyproject's [tool.mypy])
typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The group-scale benchmarks (issue 17) at 300,000 people on PostgreSQL
# (TESTROTA_TEST_DATABASE_URL, GROUP_PEOPLE): the morning peak with 1 vs 4 web processes, the
# plan, the daily report and the import. The better part of an hour on a 2-core machine.
bench-group: $(STAMP)
	$(BIN)/python benchmarks/run_group.py

clean:
	rm -rf $(VENV) demo.db* testrota.db* .pytest_cache .mypy_cache .ruff_cache htmlcov \
	  .coverage .coverage.* coverage.xml
