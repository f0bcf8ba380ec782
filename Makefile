# PMC developer targets. `make test` is what CI runs; `make demo` opens PMC on a lab cluster.
PY ?= .venv/bin/python
VENV_BIN = .venv/bin

.PHONY: test lint typecheck pytest demo screenshots bench dist clean

test: lint typecheck pytest

lint:
	$(VENV_BIN)/ruff check pmc ui tests bench
	$(VENV_BIN)/ruff format --check pmc ui tests bench

typecheck:
	$(VENV_BIN)/mypy --strict pmc

pytest:
	$(PY) -m pytest

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
