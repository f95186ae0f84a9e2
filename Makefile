# The two commands a new user types: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# runtime (the image's only set), test and dev pins; requirements.txt includes all three
LOCKS := requirements/runtime.lock requirements/test.lock requirements/dev.lock

.PHONY: run test install system-deps migrate stop status bench lint lock clean

run: install migrate ## set up, migrate and start the whole suite on the built-in market
	$(PY) hybrid_manager.py start

test: install system-deps ## set up and run the whole test suite
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): requirements.txt $(LOCKS)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $(STAMP)

system-deps: ## Chromium for the browser tests (Debian package; needs root or sudo)
	@bash scripts/system-deps.sh

migrate: install
	$(PY) hybrid_manager.py migrate

stop:
	$(PY) hybrid_manager.py stop

status:
	$(PY) hybrid_manager.py status

bench: install ## print the benchmark figures
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lock: install ## pin pyproject.toml's runtime/test/dev sets at the installed versions
	$(PY) scripts/lock.py

lint: install
	$(VENV)/bin/ruff check shared services dashboard tests bench hybrid_manager.py

clean:
	rm -rf $(VENV) .pytest_cache data-cache
