# `make test` builds everything it needs from nothing but Python 3 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
LINTED := lambda_kit lambda_kit_dev tests examples benchmarks

# The Pythons the package declares (the Lambda runtimes'). `make test` runs the unit suite
# under each one this machine has: $(VENV)'s with the coverage gate, the others each in
# its own .venv-3.X without coverage; a version the machine lacks is reported and skipped.
PYTHONS     := 3.10 3.11 3.12 3.13
PYENV_ROOT  ?= $(HOME)/.pyenv
MAIN_PY     := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
OTHER_PYS   := $(filter-out $(MAIN_PY),$(PYTHONS))

.PHONY: test lint typecheck docs unit unit-all demo bench clean

# --no-compile: the tests import a fraction of what the dev extras install (mypy, cfn-lint,
# the stubs...), so compiling it all up front costs more than compiling what is imported
# (72 s -> 53 s per environment, measured here).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

test: lint typecheck docs unit unit-all

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/cfn-lint examples/tuned/template.yaml

# Each example is its own Lambda task root with its own app.py, so each is its own mypy run.
typecheck: $(STAMP)
	$(BIN)/mypy --strict lambda_kit lambda_kit_dev
	for app in examples/*/app.py examples/tuned/consumer.py; do $(BIN)/mypy --strict "$$app" || exit 1; done
	$(BIN)/mypy --strict examples/getting_started
	$(BIN)/mypy --strict examples/demo.py
	$(BIN)/mypy --strict tests/typing/public_api.py

# Zensical (the Material for MkDocs team's successor to MkDocs 1.x, which is unmaintained)
# reads mkdocs.yml; --strict fails on a broken link or anchor. The site lands in .site.
docs: $(STAMP)
	$(BIN)/zensical build --strict --clean

# pytest exits 5 when it collects no test, which fails this target as it should. The suite
# runs on every core (at most 4 workers; 2 on CI): tests start their own servers and
# environments, so they share nothing but the machine.
XDIST := -n auto --maxprocesses 4
unit: $(STAMP)
	$(BIN)/pytest $(XDIST)

# pyenv's build of 3.X first, then python3.X on PATH (a pyenv shim that cannot run is no Python).
unit-all:
	@for v in $(OTHER_PYS); do \
	    py=""; \
	    for candidate in $(PYENV_ROOT)/versions/$$v.*/bin/python$$v $$(command -v python$$v); do \
	        if [ -x "$$candidate" ] && "$$candidate" -c "" 2>/dev/null; then py=$$candidate; break; fi; \
	    done; \
	    if [ -z "$$py" ]; then echo "unit-all: no Python $$v on this machine: skipped"; continue; fi; \
	    echo "unit-all: Python $$v ($$py)"; \
	    $(MAKE) --no-print-directory .venv-$$v/.installed-dev VERSION_PY="$$py" || exit 1; \
	    .venv-$$v/bin/pytest -q --no-cov -p no:cacheprovider $(XDIST) || exit 1; \
	done

.venv-%/.installed-dev: pyproject.toml
	$(VERSION_PY) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --no-compile --disable-pip-version-check -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# Every benchmark, then the performance page (docs/performance.md) rebuilt from their results.
bench: $(STAMP)
	for bench in benchmarks/bench_*.py; do $(BIN)/python "$$bench" || exit 1; done
	$(BIN)/python benchmarks/_report.py

clean:
	rm -rf $(VENV) .venv-3.* .site .mypy_cache .pytest_cache .ruff_cache .coverage
