# Two commands a newcomer needs: `make demo` and `make test`. Both create the
# virtual environment when it is missing (or older than the dependency lists).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-quick clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt examples/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]' -r examples/requirements.txt
	touch $(STAMP)

## The main job: boot the local cloud, run the instrumented `openstack image create`,
## print the output folder (./otel-openstack/...), stop the cloud.
demo: venv
	$(PY) -m examples.demo

## The whole test suite (what .ci/run runs).
test: venv
	$(PY) -m pytest

## Everything but the slow real-cloud tests.
test-quick: venv
	$(PY) -m pytest -m "not cloud"

clean:
	rm -rf $(VENV) otel-openstack .pytest_cache
