# The two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv when missing and install the pinned dependencies.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RAW ?= ../shared/census2021/raw
GEO ?= ../shared/geography/raw

.PHONY: help demo test lint typecheck pytest sysdeps sysdeps-test reference-data knowledge-data bench clean

help:
	@echo "make demo            audit the bundled synthetic register into out/demo/"
	@echo "make test            lint, type-check and run the test suite"
	@echo "make reference-data  rebuild reference_data/ from $(RAW) and $(GEO)"
	@echo "make knowledge-data  rewrite reference_data/'s knowledge files after editing their sources"
	@echo "make bench           run the benchmarks (about 5 minutes) into benchmarks/RESULTS.md"

# The lock pins every extra ([all]: pdf, check, service) and the dev tools; the package
# itself is then installed editable, without resolving anything again.
$(STAMP): requirements/lock.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

sysdeps:
	@scripts/ensure-system-libs.sh

sysdeps-test:
	@scripts/ensure-system-libs.sh --with-test-tools

demo: $(STAMP) sysdeps
	$(BIN)/inclusion-audit audit examples/riverside-forum-register.csv \
		--area Lambeth --eligible-age 16+ \
		--event examples/riverside-forum-event.yaml --partners examples/riverside-partners.csv \
		--format json --format html --format pdf --output out/demo
	@echo "Open out/demo/report.html (or report.pdf) to read the audit."

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) sysdeps-test
	$(BIN)/python -m pytest -n 2

test: lint typecheck pytest

reference-data: $(STAMP)
	$(BIN)/python scripts/build_reference_data.py --raw $(RAW) --geography-raw $(GEO) --out reference_data

knowledge-data: $(STAMP)
	$(BIN)/python scripts/build_reference_data.py --knowledge-only --out reference_data

bench: $(STAMP) sysdeps
	$(BIN)/python benchmarks/run.py --sizes 10k,1m,10m
	rm -f benchmarks/data/register-10m.csv benchmarks/data/register-10m.parquet

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
