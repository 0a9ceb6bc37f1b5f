# Two entry points for a fresh clone (see README):
#   make run    install into .venv and run the main job (the 2016-letter branches from the nowcast)
#   make test   install into .venv with the test extras and run the whole test suite
#   make dashboard  install the dashboard extra into .venv and start the dashboard
# Both need only python3 (3.12, selected by .python-version) and make.

VENV   := .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install install-test install-dashboard run dashboard test test-fast bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PYTHON) -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-dashboard: $(VENV)/.installed pyproject.toml
	$(PYTHON) -m pip install --quiet -e '.[fast,dashboard]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-dashboard: $(VENV)/.installed-dashboard

run: install
	$(VENV)/bin/trucesim run

dashboard: install-dashboard
	$(VENV)/bin/trucesim dashboard

test: install-test
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

test-fast: install-test
	$(VENV)/bin/pytest -n 2 -m "not slow" $(PYTEST_ARGS)

bench: install
	$(PYTHON) benchmarks/run.py

clean:
	rm -rf $(VENV) results
