# Two entry points for a fresh clone (see README):
#   make run    install into .venv and run the main job (the 2016-letter branches from the nowcast)
#   make test   install into .venv with the test extras and run the whole test suite
#   make dashboard  install the dashboard extra into .venv and start the dashboard
# Both need only python3 (3.12, selected by .python-version) and make.
#   make lock   upgrade requirements/lock.txt, the tested versions every install uses

VENV   := .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=
# Every install takes the exact versions of the lock (see make lock), with uv (installed
# into the venv by pip, with pip itself, at the lock's versions): about 6 s for the
# runtime packages where pip takes about 47 s (`-e .` into a fresh venv, --no-cache-dir /
# --no-cache, 2026-12-07).
# uv reads PyPI and its own settings (UV_INDEX_URL, ...), not pip's configuration.
LOCK    := requirements/lock.txt
UV      := $(VENV)/bin/uv
INSTALL := $(UV) pip install --quiet --python $(PYTHON) --constraint $(LOCK)

.PHONY: install install-test install-dashboard run dashboard test test-fast bench bench-abc posterior posterior-A posterior-B lock clean

# The venv is made without pip (ensurepip takes about 5 s) and this python's own pip puts
# uv into it; where that pip cannot (none, or older than 22.3), the venv gets its own.
$(VENV)/.installed: pyproject.toml $(LOCK)
	python3 -m venv --without-pip $(VENV)
	python3 -m pip --python $(PYTHON) install --quiet --constraint $(LOCK) uv 2>/dev/null \
	  || { echo "python3's pip could not put uv into $(VENV); using the venv's own pip"; \
	       python3 -m venv --clear $(VENV) && $(PYTHON) -m pip install --quiet --constraint $(LOCK) uv; }
	$(INSTALL) pip -e .
	touch $@

# The test install also compiles every installed module to bytecode. uv leaves that to the
# first import, which writes it once, but where PYTHONDONTWRITEBYTECODE is set (this
# machine sets it) every process of the suite compiled numba, pandas, scipy, ... again,
# in each worker and in each command a test starts: collecting the tests took 12.6 s
# without the bytecode and 3.8 s with it, the warm suite 272 s and 225 s (2026-12-07).
# Compiling costs about 14 s once, more than it saves the main job, so make run's
# install does not do it.
$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml $(LOCK)
	$(INSTALL) --compile-bytecode -e '.[test,calibrate,backtest,ema]'
	touch $@

$(VENV)/.installed-dashboard: $(VENV)/.installed pyproject.toml $(LOCK)
	$(INSTALL) -e '.[dashboard]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
install-dashboard: $(VENV)/.installed-dashboard

run: install
	$(VENV)/bin/trucesim run

dashboard: install-dashboard
	$(VENV)/bin/trucesim dashboard

# The package's own bytecode too (only the modules changed since the last run compile):
# importing the CLI, the model and the filter took 1.50-1.59 s without it, 1.30-1.49 s
# with it, in each of the commands the tests start.
test: install-test
	$(PYTHON) -m compileall -q src
	$(VENV)/bin/pytest -n 2 $(PYTEST_ARGS)

test-fast: install-test
	$(PYTHON) -m compileall -q src
	$(VENV)/bin/pytest -n 2 -m "not slow" $(PYTEST_ARGS)

bench: install
	$(PYTHON) benchmarks/run.py

# ABC-SMC simulations per second on the 2010-2013 window (2 workers).
bench-abc: install-test
	$(PYTHON) benchmarks/abc.py

# The bundled posteriors (src/trucesim/bundled/posterior/el-salvador-{A,B}.toml): one
# calibration each, with the settings in its calibration file (see docs/calibration.md);
# posterior-A also writes the scenarios' point values (its weighted medians).
POSTERIOR_WORKERS ?= 2
posterior: posterior-A posterior-B
posterior-A: install-test
	$(PYTHON) tools/bundle_posterior.py calibration/el-salvador-2013.toml A --workers $(POSTERIOR_WORKERS)
	$(PYTHON) tools/point_from_posterior.py
posterior-B: install-test
	$(PYTHON) tools/bundle_posterior.py calibration/el-salvador-2016-07-14.toml B --workers $(POSTERIOR_WORKERS)

# Upgrade the lock: resolve the newest versions pyproject.toml allows (every extra) in a
# scratch venv, run the whole suite there, and rewrite $(LOCK) only if it passes (its
# comment header is kept). The next make run / make test installs the new versions.
LOCK_VENV := .venv-lock
lock:
	rm -rf $(LOCK_VENV)
	python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip uv
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[test,calibrate,backtest,dashboard,dask,ema]'
	$(LOCK_VENV)/bin/pytest -n 2 -q $(PYTEST_ARGS)
	{ grep '^#' $(LOCK); $(LOCK_VENV)/bin/python -m pip freeze --all --exclude-editable; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf $(LOCK_VENV)

clean:
	rm -rf $(VENV) results
