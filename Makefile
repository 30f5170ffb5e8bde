# The two commands of the README: `make demo` and `make test`. Both start from a clean clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= sqlite:///./demo.db
export TESTROTA_CONFIG_DIR ?= ./config

.PHONY: demo test lint typecheck bench clean browser-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

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
	$(BIN)/testrota demo --db $(DEMO_DB) --no-serve > /dev/null
	COLUMNS=160 $(BIN)/testrota compliance --db $(DEMO_DB) --weeks 2 | head -28
	COLUMNS=160 $(BIN)/testrota missed --db $(DEMO_DB) --format table | head -24
	COLUMNS=160 $(BIN)/testrota outbox --db $(DEMO_DB) --limit 8
	$(BIN)/testrota demo --db $(DEMO_DB)

test: $(STAMP) browser-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q -n 2 $(PYTEST_ARGS)

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) demo.db* testrota.db* .pytest_cache .mypy_cache
