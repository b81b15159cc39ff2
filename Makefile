# Two commands do everything on a fresh machine with python3 and make:
#   make run   - virtual environment, dependencies, database, help content, dev server on :8000
#   make test  - lint, types, migration check and every test with branch coverage (browser
#                tests need Debian's chromium)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)
DEV_ENV := DJANGO_DEBUG=1
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install messages lint format makemessages clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(INSTALLED)

# Compiled with polib (pure Python): no GNU gettext needed on the machine.
%.mo: %.po $(INSTALLED)
	$(PY) scripts/compile_messages.py $<

messages: $(MO_FILES)

run: install messages
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py createcachetable
	$(DEV_ENV) $(PY) manage.py load_help_content
	$(DEV_ENV) $(PY) manage.py load_macros
	@# The task worker sends e-mail (to the console in development); it stops with the server.
	$(DEV_ENV) $(PY) manage.py mail_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(DEV_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

test: install messages
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DJANGO_SECRET_KEY=check-only $(PY) -m mypy .
	DJANGO_SECRET_KEY=check-only $(PY) manage.py makemigrations --check --dry-run
	@# Two test processes, one per core (pytest-xdist); pytest-cov joins their coverage.
	$(PY) -m pytest -n 2 --cov --cov-report=term-missing:skip-covered $(PYTEST_ARGS)

lint:
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Developers only: extracting strings needs GNU gettext (apt-get install gettext).
makemessages: install
	$(DEV_ENV) $(PY) manage.py makemessages --locale zh_Hans --no-obsolete --no-location

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm
