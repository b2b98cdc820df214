# Developer entry points. `make test` and `make demo` work on a fresh machine: they install what is missing.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2 --dist loadgroup
PYTHON ?= python3

.PHONY: help install debs lint test test-unit test-component test-netns manifests proto bench demo clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

install: $(VENV)/.installed debs  ## create .venv with the project and dev tools; apt-get what the tests need

$(VENV)/.installed: pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

debs:  ## Debian packages: iproute2, the reference CNI plugins, kubectl
	hack/install-debs.sh

lint: install  ## ruff, mypy --strict, import-linter contracts
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint  ## lint, then every test tier (netns tests need root)
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: install
	$(BIN)/pytest test/unit $(PYTEST_ARGS)

test-component: install
	$(BIN)/pytest test/component $(PYTEST_ARGS)

test-netns: install
	$(BIN)/pytest test/netns $(PYTEST_ARGS)

manifests: install  ## regenerate config/crd from the Python types
	$(PY) -m eni.api.v1.crdgen config/crd

proto: install  ## regenerate the gRPC/protobuf stubs in eni/rpc from api/*.proto
	hack/gen-proto.sh

DEMO_ARGS ?=
demo: install  ## a local cluster with a simulated VPC: pods get VPC IPs and talk to each other (needs root)
	@test "$$(id -u)" -eq 0 || { echo "make demo needs root: the simulated VPC lives in network namespaces" >&2; exit 1; }
	$(BIN)/tke-eni-sim demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
