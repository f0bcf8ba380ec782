# PMC developer targets. `make test` (lint, typecheck, suite, coverage) is what CI runs, stage
# by stage; `make demo` opens PMC on a lab cluster.
PY ?= .venv/bin/python
VENV_BIN = .venv/bin

.PHONY: test lint typecheck pytest suite coverage demo screenshots bench dist dist-check clean

test: lint typecheck pytest

lint:
	$(VENV_BIN)/ruff check pmc ui tests bench installer
	$(VENV_BIN)/ruff format --check pmc ui tests bench installer

typecheck:
	$(VENV_BIN)/mypy --strict pmc ui
	$(VENV_BIN)/mypy --config-file mypy-win32.ini pmc ui
	$(VENV_BIN)/mypy --strict --explicit-package-bases bench

pytest: suite
	$(MAKE) coverage

# Every test but tests/setup (those run once, under coverage: `make coverage`), in $(WORKERS)
# worker processes (pytest-xdist): the tests spend much of their time waiting on servers
# (sshd, PostgreSQL, the lab's set-up), so two workers finish far sooner even on two cores.
# `--dist loadfile` keeps each file in one worker (its module fixtures, its lab); each worker
# has its own labs (their ids carry the worker's process id), keyring and temporary folders.
WORKERS ?= 2
suite:
	$(PY) -m pytest --ignore=tests/setup -n $(WORKERS) --dist loadfile

# tests/setup under branch coverage, then the floor of the setup planners and executor
# (tests/setup/coverage.py): one run of those tests, no second pass.
coverage:
	$(PY) -m pytest tests/setup --cov=pmc.plan --cov=pmc.setup --cov-branch \
		--cov-report=json:.coverage-setup.json --cov-report=term
	$(PY) tests/setup/coverage.py .coverage-setup.json

# Installers (installer/README.md): the one-folder build and the Linux tarball in dist/,
# then the smoke test of the BUILT executable (not the venv).
dist:
	$(PY) installer/dist.py

dist-check: dist
	PMC_DIST_CHECK=1 $(PY) -m pytest -p no:cacheprovider tests/installer

# The desktop app on a fresh two-server rehearsal lab (root; the lab goes down on close).
# Without a display: on a private Xvfb, a screenshot to screenshots/demo.png, quits by itself.
demo:
	$(PY) -m ui.demo

# PNGs of the app on a fresh lab into screenshots/ (ui/screenshots.py lists them: first run,
# dialogs with a typo, status views at 1280x720, a failed apply's rollback, every wizard page,
# export/import, the sync panel, dark mode switched while open). The lab's id: $PMC_LAB_ID.
screenshots:
	QT_QPA_PLATFORM=offscreen $(PY) -m ui.screenshots screenshots

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
