# The two commands of the README: `make run` (set up and run the demo on the embedded SQLite
# default) and `make test` (the test suite). Everything else is a building block.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# PyTorch's CPU build (about 200 MB). The default index's Linux build bundles CUDA (several GB);
# where this index cannot be reached, the default index's build is installed instead.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH := $(shell grep '^torch==' requirements.txt)
DATA_DIR ?= $(or $(RS_DATA_DIR),var)

.PHONY: run test lint install migrate demo serve reset

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --retries 1 --timeout 15 --index-url $(TORCH_INDEX) "$(TORCH)" \
	  || $(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate_all

demo: migrate
	$(PY) manage.py setup_demo $(DEMO_ARGS)

run: demo
	@echo
	@echo "  API:        http://$(HOST):$(PORT)/  (POST /predict, /store_objects, ...)"
	@echo "  Dashboard:  http://$(HOST):$(PORT)/monitoring/  (login: see var/demo-admin.txt, or manage.py createsuperuser)"
	@echo "  Admin:      http://$(HOST):$(PORT)/admin/"
	@echo
	$(PY) manage.py run_trainer --interval 30 & trainer=$$!; \
	trap 'kill $$trainer 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

serve: migrate
	RS_BIND=$(HOST):$(PORT) $(VENV)/bin/gunicorn --config deploy/gunicorn.conf.py rs_project.wsgi

test: install
	$(PY) -m pytest

# ruff: lint and format check (ruff.toml); `.venv/bin/ruff format .` formats.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Forget the demo: the SQLite databases, model artefacts and cache under $(DATA_DIR) (not the
# virtualenv). The next `make run` generates (or with DEMO_ARGS=--ecoseller imports) a new shop.
reset:
	rm -rf "$(DATA_DIR)"
