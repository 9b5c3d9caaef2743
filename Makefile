# Every recipe is one pasteable command; `make install` is a no-op when .venv is up to date.
.PHONY: install browsers run test lint fmt bench demo clean

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

# The console's browser tests drive Debian's Chromium (never a browser Playwright downloads).
# As root, a missing one is installed; elsewhere the tests skip (and fail when CI is set).
browsers:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; else echo "browsers: no /usr/bin/chromium and not root: the browser tests will skip (apt-get install chromium chromium-driver)"; fi

test: lint browsers
	$(VENV)/bin/pytest

fmt: install
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: install
	for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

demo: install
	$(VENV)/bin/waha-campaigns demo

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache build *.egg-info
