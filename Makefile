# Two commands do everything on a fresh machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
XY := $(VENV)/bin/xinyong
DEMO_DIR ?= var/demo
DEMO_PERSONS ?= 5000
DEMO_ORGS ?= 1000
DEMO_SEED ?= 20261129
# Months of platform life replayed before today (docs/demo.md): about a minute and a quarter at the
# default size; a city of 50,000 residents takes about twenty minutes until maintenance writes its
# steps in bulk (DEMO_HISTORY_MONTHS=0 builds any city without history, at once).
DEMO_HISTORY_MONTHS ?= 30
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000

.PHONY: venv test check lint demo demo-clean bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# The suite runs on every core (pytest-xdist); `-n 0` in PYTEST_ARGS runs it in one process.
PYTEST_ARGS ?= -n auto
test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

check: lint test

# The demo city lives in its own data directory; generating is skipped when it exists, and so is
# the history once replayed (history.json holds what it did; `make demo-clean` starts afresh).
demo: venv
	XINYONG_DATA_DIR=$(DEMO_DIR) $(XY) init
	test -d $(DEMO_DIR)/city || XINYONG_DATA_DIR=$(DEMO_DIR) $(XY) demo generate \
		--persons $(DEMO_PERSONS) --orgs $(DEMO_ORGS) --seed $(DEMO_SEED) --out $(DEMO_DIR)/city \
		--history-months $(DEMO_HISTORY_MONTHS)
	# The platform's last months lived through its services, the clock held in the past: each month's
	# files ingested, rescored and maintained; proposals, objections, repairs and checks decided (docs/demo.md).
	test -f $(DEMO_DIR)/history.json || XINYONG_DATA_DIR=$(DEMO_DIR) $(XY) demo replay \
		--city $(DEMO_DIR)/city --seed $(DEMO_SEED) --output $(DEMO_DIR)/history.json
	XINYONG_DATA_DIR=$(DEMO_DIR) $(XY) maintain
	XINYONG_DATA_DIR=$(DEMO_DIR) $(XY) status
	@echo "Demo keys (new ones each run; also in $(DEMO_DIR)/demo-keys.json):"
	@XINYONG_DATA_DIR=$(DEMO_DIR) $(XY) demo keys --output $(DEMO_DIR)/demo-keys.json
	@echo "Serving the API on http://$(DEMO_HOST):$(DEMO_PORT) (OpenAPI docs at /docs); Ctrl-C stops it."
	XINYONG_DATA_DIR=$(DEMO_DIR) $(XY) serve --host $(DEMO_HOST) --port $(DEMO_PORT)

demo-clean:
	rm -rf $(DEMO_DIR)

bench: venv
	$(PY) bench/ingest.py
	$(PY) bench/score.py
	$(PY) bench/lists.py
	$(PY) bench/report.py
	command -v wrk >/dev/null || apt-get install -y wrk
	$(PY) bench/check.py
	$(PY) bench/portal.py
	$(PY) bench/link.py --quick  # the full run (1M subjects): python bench/link.py, see docs/linking.md

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
