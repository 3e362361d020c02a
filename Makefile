# The README's two commands are `make run` and `make test`; the rest are for developers.
VENV ?= .venv
PY := $(VENV)/bin/python
# The system's python3 if it is 3.11 or newer, else python3 from PATH (ADR 0029).
PYTHON ?= $(shell sh infra/python.sh)

.PHONY: run test setup jars lint schemas bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "Installing Python packages into $(VENV) with $(PYTHON) (first run only, a few minutes; log: $(VENV)/install.log) ..."
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(VENV)/bin/pip install -q -e '.[dev]' >> $(VENV)/install.log 2>&1 || (tail -50 $(VENV)/install.log; exit 1)
	@touch $@

jars: setup
	@$(PY) -c "from infra.kafka.local import ensure_jars; ensure_jars()"

run: setup jars
	$(VENV)/bin/vigil up

test: setup jars lint
	$(VENV)/bin/pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/vigil schemas --check

schemas: setup
	$(VENV)/bin/vigil schemas

bench: setup jars
	$(PY) -m bench

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
