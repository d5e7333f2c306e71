# The two commands a newcomer runs: `make demo` and `make test`.
# Each creates the virtual environment and installs what it needs.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test install bench clean

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
test: $(VENV)/.installed
	@eval "$$($(PY) tests/local_services.py)" && $(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
