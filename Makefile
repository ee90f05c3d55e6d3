# Two commands for a newcomer: `make run` (the dashboard on the embedded demo) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install run test lint bench-ingest bench-suppression bench-dashboard bench-alerts bench-api \
	bench-demo clean lambda-zip deploy-roles container-base container \
	bench-i18n catalogs-extract catalogs-update catalogs-compile

install: $(VENV)/.installed

$(VENV)/.installed: requirements-core.txt requirements.txt requirements-api.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

run: install catalogs-compile
	$(PY) -m streamlit run dashboard.py

test: install catalogs-compile
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench-ingest: install
	$(PY) bench/ingest.py

bench-suppression: install
	$(PY) bench/suppression.py

bench-dashboard: install
	$(PY) bench/dashboard.py

bench-i18n: install
	$(PY) bench/i18n.py

# The dashboard's words (ui/i18n.py): extract the wrapped strings of pages/, ui/ and
# dashboard.py into the template, merge it into each language's .po (translate the new
# entries there), compile the .po files to the .mo files the dashboard loads (not committed).
LOCALES := ui/locales
POT := $(LOCALES)/messages.pot
BABEL := $(VENV)/bin/pybabel

catalogs-extract: install
	$(BABEL) -q extract -F babel.cfg --no-location --sort-output --omit-header \
		--no-wrap -o $(POT) .

catalogs-update: catalogs-extract
	$(BABEL) -q update -i $(POT) -d $(LOCALES) -D messages --no-wrap --omit-header \
		--ignore-obsolete --no-fuzzy-matching

catalogs-compile: install
	$(BABEL) -q compile -d $(LOCALES) -D messages

bench-alerts: install
	$(PY) bench/alerts.py

# Deployment (docs/deploy.md): the Lambda package for deploy/template.yaml, the template's
# role policies from iam/, and the dashboard image (on a local debootstrap base).
LAMBDA_PYTHON ?= 3.12

lambda-zip: install
	$(PY) deploy/lambda_zip.py --python $(LAMBDA_PYTHON)

deploy-roles: install
	$(PY) deploy/roles.py

container-base:
	deploy/container/local-base.sh bouncedesk-base:bookworm

container:
	docker build --network host -t bouncedesk:latest .

bench-api: install
	$(PY) bench/api.py
bench-demo: install
	$(PY) bench/demo.py

clean:
	rm -rf $(VENV) test-output build
	find $(LOCALES) -name '*.mo' -delete
