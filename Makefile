# Everything a fresh machine needs: `make demo` (the stack against the local sandbox) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

TOOLS_BIN := $(CURDIR)/.tools/bin
PULUMI_SRC := $(wildcard tools/pulumi/go.mod tools/pulumi/go.sum tools/pulumi/*.go tools/pulumi/*/*/*.go tools/pulumi/scripts/*)
# A Pulumi CLI on PATH wins; otherwise the one `make pulumi` builds from the Go module proxy.
PULUMI_ON_PATH := $(shell command -v pulumi 2>/dev/null)
PULUMI_BIN := $(if $(PULUMI_ON_PATH),$(dir $(PULUMI_ON_PATH)),$(TOOLS_BIN))

.PHONY: help venv lint typecheck unit test pulumi cloudflare-plugin cloudflare-plugin-start e2e demo demo-cloudflare demo-down demo-cloudflare-down bench sandbox clean

help:
	@echo "make demo       pulumi up of the dev stack against the local sandbox (builds what is missing)"
	@echo "make demo-down  destroy the demo stack and stop the sandbox"
	@echo "make demo-cloudflare       the dev stack in Cloudflare mode: the real Cloudflare plugin against the sandbox's"
	@echo "                           Cloudflare stand-in (port 8788); prints the records as Cloudflare holds them"
	@echo "make demo-cloudflare-down  destroy that stack and stop its sandbox"
	@echo "make test       virtualenv, lint (ruff), type-check (mypy), the whole test suite"
	@echo "make pulumi     build the pinned Pulumi CLI + Python language host into .tools/bin"
	@echo "make cloudflare-plugin  make the pinned Cloudflare resource plugin available to the CLI (builds it if needed)"
	@echo "make bench      benchmark pulumi up of 1, 4, 16 and 64 domains (about 20 minutes)"
	@echo "make sandbox    serve the sandbox API on 127.0.0.1:8787"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest -m "not e2e"

# The Pulumi CLI, its Python language host and the two helper scripts, rebuilt only when the pin changes.
$(TOOLS_BIN)/.built: $(PULUMI_SRC)
	bash tools/pulumi/build.sh $(TOOLS_BIN)
	touch $@

pulumi:
	@if [ -n "$(PULUMI_ON_PATH)" ]; then echo "using the Pulumi CLI on PATH: $(PULUMI_ON_PATH)"; \
	else $(MAKE) --no-print-directory $(TOOLS_BIN)/.built; fi

# The Cloudflare resource plugin of the version requirements.txt pins: installed, downloaded, or built once per
# machine into ~/.cache/anyreach (tools/cloudflare-plugin/plugin.sh; README: The Cloudflare plugin).
cloudflare-plugin: pulumi
	PATH="$(PULUMI_BIN):$$PATH" bash tools/cloudflare-plugin/plugin.sh ensure

# The Cloudflare plugin's first build on a machine is long (README: The Cloudflare plugin): it starts first, in
# the background, and compiles while the rest is set up, checked and tested; the tests marked `cloudflare`
# come last, once `make cloudflare-plugin` has it (a cached or installed plugin makes all this instant).
test: cloudflare-plugin-start $(STAMP) pulumi
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	PATH="$(PULUMI_BIN):$$PATH" ANYREACH_REQUIRE_E2E=1 $(PY) -m pytest -m "not cloudflare"
	$(MAKE) --no-print-directory cloudflare-plugin
	PATH="$(PULUMI_BIN):$$PATH" ANYREACH_REQUIRE_E2E=1 $(PY) -m pytest -m cloudflare

cloudflare-plugin-start:
	PATH="$(PULUMI_BIN):$$PATH" bash tools/cloudflare-plugin/plugin.sh start

demo: $(STAMP) pulumi
	PATH="$(PULUMI_BIN):$$PATH" bash scripts/demo.sh up

demo-down: $(STAMP) pulumi
	PATH="$(PULUMI_BIN):$$PATH" bash scripts/demo.sh down

# Its own sandbox (8788, DNS 8854), stack (dev-cloudflare) and .demo/cloudflare/, so `make demo` stays as it is.
demo-cloudflare: $(STAMP) cloudflare-plugin
	PATH="$(PULUMI_BIN):$$PATH" bash scripts/demo.sh up cloudflare

demo-cloudflare-down: $(STAMP) cloudflare-plugin
	PATH="$(PULUMI_BIN):$$PATH" bash scripts/demo.sh down cloudflare

bench: $(STAMP) pulumi
	PATH="$(PULUMI_BIN):$$PATH" $(PY) scripts/benchmark.py --out docs/benchmarks.md

sandbox: $(STAMP)
	$(PY) -m sandbox --host 127.0.0.1 --port 8787 --auto-publish

clean:
	rm -rf $(VENV) .tools .demo .pytest_cache .mypy_cache .ruff_cache
