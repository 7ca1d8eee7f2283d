# sori — two commands: `make demo` and `make test`. Both set themselves up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed


.PHONY: print-lambda-pip install system-deps demo test unit integration e2e lint bench clean down

# Debian packages the tests drive: headless Chromium (chat page, dashboard) and CJK fonts to render Korean.
# MariaDB is installed on demand by local/mariadb.py when no server is configured.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1 || \
	  { echo "installing chromium and fonts-noto-cjk with apt"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make demo: bring the embedded stack up, run the whole flow, ask the chatbot about BTS, tear down.
demo: install
	$(BIN)/sori demo

## make test: every test (unit, integration against the local stack, e2e).
test: install system-deps lint
	$(BIN)/python -m pytest -q

unit: install
	$(BIN)/python -m pytest -q tests/unit

integration: install
	$(BIN)/python -m pytest -q tests/integration

e2e: install
	$(BIN)/python -m pytest -q tests/e2e

## make lint: ruff (rules in pyproject.toml), mypy (strict for the Lambda code), cfn-lint on the template.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml

bench: install
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

down:
	-$(BIN)/sori down

clean: down
	rm -rf $(VENV) .sori build .pytest_cache

# --- sam build (BuildMethod: makefile): one target per function, plus the shared layers ---
# `sam build` runs `make build-<LogicalId>` with ARTIFACTS_DIR set (samconfig.toml: build_in_source, so nothing
# but what a target copies leaves the source tree). Wheels are always the Lambda runtime's (CPython 3.12,
# manylinux x86_64), whatever Python or OS the build host runs: pip never picks a wheel for the host. The
# requirements files pin every transitive dependency, so the layers install with --no-deps: nothing unpinned.
LAMBDA_PYTHON_VERSION := 3.12
LAMBDA_PLATFORMS := manylinux2014_x86_64 manylinux_2_24_x86_64 manylinux_2_26_x86_64 manylinux_2_28_x86_64 \
                    manylinux_2_31_x86_64 manylinux_2_34_x86_64
LAMBDA_PIP = $(PYTHON) -m pip install -q --disable-pip-version-check --no-warn-conflicts --no-compile \
             --implementation cp --python-version $(LAMBDA_PYTHON_VERSION) --abi cp312 --only-binary=:all: \
             $(foreach p,$(LAMBDA_PLATFORMS),--platform $(p))

# Bytecode for the runtime. Lambda cannot write __pycache__ (/var/task and /opt are read-only), so code shipped
# without CPython 3.12 .pyc files is compiled again on every cold start: ≈0.2 s of CPU for the chatbot's own code
# and layer (bench/chatbot_cold.py). The build compiles with a CPython 3.12 when the host has one (PYTHON312, else
# python3.12 on PATH, else pyenv's), as checked-hash .pyc (valid whatever timestamps the zip keeps). Without one it
# says so and ships source only: the functions work, their cold starts are slower.
PYTHON312 ?= $(firstword $(foreach p,$(shell command -v python3.12 2>/dev/null) \
                 $(sort $(wildcard $(HOME)/.pyenv/versions/3.12.*/bin/python3.12)) /usr/bin/python3.12,\
                 $(shell $(p) -c 'import sys; assert sys.version_info[:2] == (3, 12); print("$(p)")' 2>/dev/null)))
define lambda_pyc
	@if [ -n "$(PYTHON312)" ]; then "$(PYTHON312)" -m compileall -q -j 0 --invalidation-mode checked-hash "$(1)" >/dev/null; \
	else echo "sori: no CPython 3.12 on this host (set PYTHON312=...): $(1) ships without bytecode" >&2; fi
endef

# the exact pip command line the build targets use (local/lambda_check.py builds its stand-ins with it)
print-lambda-pip:
	@echo $(LAMBDA_PIP)

# the bytecode compiler the build targets use ("" when the host has no CPython 3.12)
print-python312:
	@echo $(PYTHON312)

build-SoriLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	cp -R sori "$(ARTIFACTS_DIR)/python/"
	find "$(ARTIFACTS_DIR)/python/sori" -name __pycache__ -prune -exec rm -rf {} +
	$(LAMBDA_PIP) --no-deps --target "$(ARTIFACTS_DIR)/python" -r requirements/sori-layer.txt
	$(call lambda_pyc,$(ARTIFACTS_DIR)/python)

# The same layer without protobuf, for the functions that also take the AWS SDK for pandas layer (it ships protobuf).
build-SoriPandasLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	cp -R sori "$(ARTIFACTS_DIR)/python/"
	find "$(ARTIFACTS_DIR)/python/sori" -name __pycache__ -prune -exec rm -rf {} +
	$(LAMBDA_PIP) --no-deps --target "$(ARTIFACTS_DIR)/python" -r requirements/sori-layer-pandas.txt
	$(call lambda_pyc,$(ARTIFACTS_DIR)/python)

build-%Function:
	mkdir -p "$(ARTIFACTS_DIR)"
	cp -R producers consumers chatbot "$(ARTIFACTS_DIR)/"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +
	rm -f "$(ARTIFACTS_DIR)/consumers/related_builder/Dockerfile"
	$(call lambda_pyc,$(ARTIFACTS_DIR))
