# The two commands a newcomer runs: `make demo` and `make test`.
# Each creates the virtual environment and installs what it needs.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test install bench clean browser

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The whole flow on embedded defaults: no service needs to run.
demo: $(VENV)/.installed
	env -u ROYALTY_DATABASE_URL -u ROYALTY_BROKER_URL $(VENV)/bin/royalty demo

# The whole suite against real PostgreSQL (and RabbitMQ): ROYALTY_DATABASE_URL /
# ROYALTY_BROKER_URL when set, the local services when they answer, the embedded
# defaults otherwise (EMBEDDED=1 forces those).
test: $(VENV)/.installed browser
	@eval "$$($(PY) tests/local_services.py)" && $(PY) -m pytest $(PYTEST_ARGS)

# Headless Chromium renders the HTML reports in one test (Debian's package; root only).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium is not installed: the HTML rendering test will be skipped"

bench: $(VENV)/.installed
	$(PY) -m bench.ingest
	$(PY) bench/payouts.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
