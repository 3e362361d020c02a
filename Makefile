# The README's two commands are `make run` and `make test`; the rest are for developers.
VENV ?= .venv
PY := $(VENV)/bin/python
# The system's python3 if it is 3.11 or newer, else python3 from PATH (ADR 0029).
PYTHON ?= $(shell sh infra/python.sh)

.PHONY: run test setup jars assets lint schemas bench clean lock audit

setup: $(VENV)/.installed

# Installs exactly what requirements-dev.lock names, each file checked against its hash (ADR 0049).
$(VENV)/.installed: requirements-dev.lock pyproject.toml
	@echo "Installing Python packages into $(VENV) with $(PYTHON) (first run only, a few minutes; log: $(VENV)/install.log) ..."
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements-dev.lock \
		> $(VENV)/install.log 2>&1 || (tail -50 $(VENV)/install.log; exit 1)
	@$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . \
		>> $(VENV)/install.log 2>&1 || (tail -50 $(VENV)/install.log; exit 1)
	@touch $@

# Resolve what pyproject.toml adds, keeping the versions already locked (UPGRADE=1 make lock: newest
# versions that fit every range); then run make test.
lock: setup
	sh infra/lock.sh

# The locked packages against a vulnerability database (PyPI's, which needs the network); the reviewed
# exceptions, each with its reason, are in infra/audit-ignore.txt (docs/security.md).
audit: setup
	$(VENV)/bin/pip-audit --requirement requirements-dev.lock --disable-pip --strict --progress-spinner off \
		$$(sed -n 's/^\([A-Z][A-Za-z0-9-]*\) .*/--ignore-vuln \1/p' infra/audit-ignore.txt)

jars: setup
	@$(PY) -c "from infra.kafka.local import ensure_jars; ensure_jars()"

# The pinned GOV.UK and MOJ Frontend packages (npm ci from package-lock.json) and the stylesheet built
# from them; skipped while up to date (docs/pages.md).
assets: setup
	@$(PY) -m infra.assets

run: setup jars assets
	$(VENV)/bin/vigil up

test: setup jars assets lint
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
