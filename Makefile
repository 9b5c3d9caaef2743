# Every recipe is one pasteable command; `make install` is a no-op when .venv is up to date.
.PHONY: install run test lint fmt bench demo clean

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(VENV)/bin/waha-campaigns serve

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy && $(VENV)/bin/lint-imports

test: lint
	$(VENV)/bin/pytest

fmt: install
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: install
	for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

demo: install
	$(VENV)/bin/waha-campaigns demo

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache build *.egg-info
