# pokecard: one entry point for every job. `make help` lists the targets.
SHELL := /bin/bash
.ONESHELL:
.DEFAULT_GOAL := help

PY         ?= python3
VENV       ?= .venv
BIN        := $(VENV)/bin
# The PyTorch pair is installed first and pinned, so no resolver can swap it for a
# multi-GB download. Override for another machine, e.g. TORCH_SPEC="torch==2.9.1 torchvision==0.24.1".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
SETUP_KEY  := $(shell cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -c1-16)
STAMP      := $(VENV)/.setup-$(SETUP_KEY)

ENV        ?= local
ROOT       ?= work/demo
CATALOG    ?=
PRESET     ?= demo
PI_HOST    ?=
PI_DIR     ?= pokecard
BUNDLE     ?= build/pokecard-bundle.tar.gz
SSH_CONFIG ?=
DEPLOY_ARGS ?=
TARGET     ?= local
export PYTHONUNBUFFERED := 1

.PHONY: help setup test lint demo serve infra infra-down train export-hef deploy-pi bench clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}'
	@echo
	@echo "  Variables: ENV=$(ENV) ROOT=$(ROOT) CATALOG=$(CATALOG) PRESET=$(PRESET) TORCH_SPEC='$(TORCH_SPEC)' NO_UV=$(NO_UV)"

setup: $(STAMP) ## Create .venv (idempotent: instant when pyproject/constraints are unchanged)

$(STAMP): pyproject.toml constraints.txt
	set -euo pipefail
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# uv installs the same pins several times faster than pip (torch + CUDA libraries are
	# ~5.9 GB: ~2 min with pip, ~20 s with uv). It is told pip's configured indexes, so
	# it sees the same packages; where uv cannot be installed, pip does the work.
	if [ -z "$(NO_UV)" ] && $(BIN)/python -m pip install -q uv 2>/dev/null; then
	  idx=(); for u in $$($(BIN)/python -m pip config get global.extra-index-url 2>/dev/null); do idx+=(--extra-index-url "$$u"); done
	  for u in $$($(BIN)/python -m pip config get global.find-links 2>/dev/null); do idx+=(--find-links "$$u"); done
	  inst=($(BIN)/uv pip install -q --python $(BIN)/python --index-strategy unsafe-best-match "$${idx[@]}")
	else
	  inst=($(BIN)/python -m pip install -q)
	fi
	"$${inst[@]}" $(TORCH_SPEC)
	# Pin whatever torch pair is now installed, then install the package around it.
	$(BIN)/python -m pip freeze | grep -iE '^(torch|torchvision)==' > $(VENV)/torch-pin.txt
	"$${inst[@]}" -c $(VENV)/torch-pin.txt -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.setup-*
	touch $@
	echo "setup: $(VENV) ready"

test: setup ## Run the whole test suite (what CI runs)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: setup ## ruff + terraform fmt/validate + checkov (own venv)
	set -euo pipefail
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/python scripts/check_layers.py
	bash scripts/infra.sh lint

demo: setup ## The main job on the embedded default: synth catalogue -> train -> export -> index -> recognize
	$(BIN)/pokecard demo --out $(ROOT)

HOST       ?= 127.0.0.1
PORT       ?= 8000
serve: setup ## The collector's web app on ROOT (http://127.0.0.1:8000; HOST=0.0.0.0 for a phone: prints a token URL)
	$(BIN)/pokecard serve --root $(ROOT) --host $(HOST) --port $(PORT)

infra: setup ## Apply Terraform (ENV=local: moto emulator on 127.0.0.1; ENV=prod: us-east-2, APPROVE=1 to apply)
	bash scripts/infra.sh apply $(ENV)

infra-down: ## Stop the local AWS emulator
	bash scripts/infra.sh down

train: setup ## Train teacher + student, export ONNX, build the reference DB (CATALOG=dir ROOT=dir PRESET=demo|full; TARGET=sagemaker STAGE=teacher|distill|all runs it as a SageMaker job, DRY_RUN=1 prints the request)
	@if [ "$(TARGET)" = "sagemaker" ]; then
	  $(BIN)/pokecard sagemaker train --stage $(or $(STAGE),all) --preset $(PRESET) $(if $(DRY_RUN),--dry-run,--wait)
	  exit $$?
	fi
	test -n "$(CATALOG)" || { echo "make train: set CATALOG=<catalogue folder> (e.g. ../shared/data/catalog/temporal-forces)"; exit 2; }
	$(BIN)/pokecard train --catalog $(CATALOG) --root $(ROOT) --preset $(PRESET)

export-hef: setup ## Compile the student ONNX to a Hailo HEF (needs the Hailo Dataflow Compiler)
	$(BIN)/pokecard export hef --root $(ROOT)

deploy-pi: setup ## Bundle ROOT and deploy it to a Pi over SSH (PI_HOST=user@host; PI_DIR, SSH_CONFIG, DEPLOY_ARGS="--systemd")
	@test -n "$(PI_HOST)" || { echo "make deploy-pi: set PI_HOST=user@host (e.g. PI_HOST=pi@raspberrypi.local)"; exit 2; }
	set -euo pipefail
	$(BIN)/pokecard bundle --root $(ROOT) --out $(BUNDLE)
	$(BIN)/pokecard deploy $(BUNDLE) --host $(PI_HOST) --dir $(PI_DIR) $(if $(SSH_CONFIG),--ssh-config $(SSH_CONFIG)) $(DEPLOY_ARGS)

bench: setup ## Benchmarks: writes reports/*.json and the tables in docs/benchmarks.md
	$(BIN)/pokecard bench all

clean: ## Remove build outputs (keeps .venv; `make clean ALL=1` removes it too)
	rm -rf build dist .pytest_cache .ruff_cache src/*.egg-info work reports/*.json
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	if [ -n "$(ALL)" ]; then rm -rf $(VENV) .venv-checkov; fi
