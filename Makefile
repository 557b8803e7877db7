# `make test` builds everything it needs from nothing but Python 3 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
LINTED := lambda_kit lambda_kit_dev tests examples benchmarks

.PHONY: test lint typecheck docs unit demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

test: lint typecheck docs unit

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/cfn-lint examples/tuned/template.yaml

# Each example is its own Lambda task root with its own app.py, so each is its own mypy run.
typecheck: $(STAMP)
	$(BIN)/mypy --strict lambda_kit lambda_kit_dev
	for app in examples/*/app.py examples/tuned/consumer.py; do $(BIN)/mypy --strict "$$app" || exit 1; done
	$(BIN)/mypy --strict examples/demo.py
	$(BIN)/mypy --strict tests/typing/public_api.py

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir .site

# pytest exits 5 when it collects no test, which fails this target as it should.
unit: $(STAMP)
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/python examples/demo.py

bench: $(STAMP)
	for bench in benchmarks/bench_*.py; do $(BIN)/python "$$bench" || exit 1; done

clean:
	rm -rf $(VENV) .site .mypy_cache .pytest_cache .ruff_cache .coverage
