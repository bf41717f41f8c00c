# The two commands of the README: `make run` (set up and run the demo on the embedded SQLite
# default) and `make test` (the test suite). Everything else is a building block.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate serve e2e

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate_all

run: migrate
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest
