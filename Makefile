# KernelAtlas — every task a user or CI runs. `make setup` is idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The CPU build of torch (a local wheel on our machines; on others pip fetches it).
TORCH  ?= torch==2.13.0

.PHONY: setup site serve test bench lint typecheck check exports repro clean system-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[all]"
	touch $(STAMP)

setup: $(STAMP)

## The main job: validate the knowledge base, then render and build the site into site/.
site: setup
	$(BIN)/python -m site_gen build

serve: setup
	$(BIN)/python -m site_gen serve

check: setup
	$(BIN)/python -m site_gen check

exports: setup
	$(BIN)/python -m site_gen export --out build/exports

## Debian packages the browser tests need (root or sudo).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

test: setup
	$(BIN)/python -m pytest -n 2 -q

bench: setup
	$(BIN)/python -m site_gen.bench
	$(BIN)/python -m repro bench-harness --device cpu
	$(BIN)/python -m repro.bench.arrival

lint: setup
	$(BIN)/ruff check site_gen repro tests
	$(BIN)/ruff format --check site_gen repro tests

## mypy over site_gen and repro; the strictness is stated in pyproject.toml ([tool.mypy]).
typecheck: setup
	$(BIN)/python -m mypy

repro: setup  ## measure on this machine's GPUs: make repro GPUS=0,1,2,3
	$(BIN)/python -m repro reproduce $(if $(GPUS),--gpus $(GPUS))

clean:
	rm -rf build site .pytest_cache test-artifacts
