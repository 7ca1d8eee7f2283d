# sori — two commands: `make demo` and `make test`. Both set themselves up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install system-deps demo test unit integration e2e lint bench clean down

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
test: install system-deps
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

# --- sam build (BuildMethod: makefile): one target per function, plus the shared layer ---
# `sam build` runs `make build-<LogicalId>` with ARTIFACTS_DIR set.
build-SoriLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	cp -r sori "$(ARTIFACTS_DIR)/python/"
	$(PYTHON) -m pip install -q --target "$(ARTIFACTS_DIR)/python" aws-kinesis-agg==1.2.3 spotipy==2.26.0 pymysql==1.2.4 rapidfuzz==3.14.6 pybase64==1.5.1

build-%Function:
	mkdir -p "$(ARTIFACTS_DIR)"
	cp -r producers consumers chatbot "$(ARTIFACTS_DIR)/"
