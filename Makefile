# PMC developer targets. `make test` is what CI runs; `make demo` opens PMC on a lab cluster.
PY ?= .venv/bin/python
VENV_BIN = .venv/bin

.PHONY: test lint typecheck pytest demo screenshots bench dist dist-check clean

test: lint typecheck pytest

lint:
	$(VENV_BIN)/ruff check pmc ui tests bench installer
	$(VENV_BIN)/ruff format --check pmc ui tests bench installer

typecheck:
	$(VENV_BIN)/mypy --strict pmc

pytest:
	$(PY) -m pytest

# Installers (installer/README.md): the one-folder build and the Linux tarball in dist/,
# then the smoke test of the BUILT executable (not the venv).
dist:
	$(PY) installer/dist.py

dist-check: dist
	PMC_DIST_CHECK=1 $(PY) -m pytest -p no:cacheprovider tests/installer

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
