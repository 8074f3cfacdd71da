# Two entry points for a fresh machine:
#   make run   installs everything, loads demo data and starts the portal
#   make test  runs every test against PostgreSQL and Redis (started if needed)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/icp_portal
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test install services demo bench lint clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

demo: install
	DEBUG=true $(BIN)/python manage.py migrate --no-input
	DEBUG=true $(BIN)/python manage.py demo

run: demo
	@echo ""
	@echo "ICP Portal: http://$(HOST):$(PORT)/  (stop with Ctrl+C)"
	@echo "Demo logins, password 'demo-pass-2026': sdr, sdr2, ae, manager, salesops, marketing, leadership"
	@echo ""
	DEBUG=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

services:
	scripts/start-services.sh

test: install services
	DATABASE_URL=$(TEST_DATABASE_URL) ICP_TEST_BROKER_URL=$(TEST_BROKER_URL) SECRET_KEY=test-only-secret \
		$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

bench: install services
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/icp_bench $(BIN)/python benchmarks/run_all.py --small

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var staticfiles
