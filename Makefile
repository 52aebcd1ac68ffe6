# Two commands a newcomer needs: `make demo` and `make test`. Both create the
# virtual environment when it is missing (or older than the dependency lists).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-quick bench clean

venv: $(STAMP) wheels-ini

$(STAMP): pyproject.toml constraints.txt examples/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]' -r examples/requirements.txt
	touch $(STAMP)

## The main job: boot the local cloud, run the instrumented `openstack image create`,
## print the output folder (./otel-openstack/...), stop the cloud.
demo: $(STAMP)
	$(PY) -m examples.demo

## The whole test suite (what .ci/run runs).
test: venv
	$(PY) -m pytest

## Everything but the slow real-cloud tests.
test-quick: venv
	$(PY) -m pytest -m "not cloud"

## Benchmarks (bounded to ~9 minutes on 2 cores): middleware overhead, 1 GiB
## streaming, the instrumented CLI, the renderer. Prints one table, writes
## benchmarks/results/latest.json; installs wrk and hyperfine with apt-get when
## they are missing and we are root (else Python fallbacks are used).
bench: venv
	$(PY) -m benchmarks --install-tools

clean:
	rm -rf $(VENV) otel-openstack .pytest_cache

## Paste ini files that nova, cinder, neutron and swift ship, for tests/paste (glance's comes
## with the venv): their PyPI packages, pinned in tests/paste/wheels.txt, downloaded once
## into .cache/wheels/. swift's wheel has no proxy-server.conf-sample: its sdist is fetched too.
WHEELS_DIR := .cache/wheels
WHEELS_LIST := tests/paste/wheels.txt

.PHONY: wheels-ini
wheels-ini: $(WHEELS_DIR)/.downloaded

$(WHEELS_DIR)/.downloaded: $(WHEELS_LIST) | $(STAMP)
	mkdir -p $(WHEELS_DIR)
	$(PY) -m pip download --quiet --no-deps --no-binary :none: --only-binary :all: -d $(WHEELS_DIR) -r $(WHEELS_LIST)
	$(PY) -m pip download --quiet --no-deps --no-binary swift -d $(WHEELS_DIR) $$(grep '^swift==' $(WHEELS_LIST)) \
	  || $(PY) -m pip download --quiet --no-deps --no-binary swift --no-build-isolation -d $(WHEELS_DIR) $$(grep '^swift==' $(WHEELS_LIST))
	touch $@
