# Two commands on a fresh machine with only Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test up clean

# The first install takes about 30 s and needs the network once; say so, and let pip show what it fetches.
$(STAMP): pyproject.toml
	@echo "mrasim: first run: creating $(VENV) and installing the dependencies (about 30 s, once)"
	$(PYTHON) -m venv $(VENV)
	@echo "mrasim: [1/2] updating pip"
	@$(BIN)/pip install --quiet --upgrade pip
	@echo "mrasim: [2/2] installing mrasim and its dependencies (aiohttp, cryptography, lxml, pytest …)"
	@$(BIN)/pip install --progress-bar on --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)
	@echo "mrasim: installed; next time this step is skipped"

run: $(STAMP)
	@$(BIN)/mrasim run

# mrasim up ends with status 0 on Ctrl-C, so make stops without an error line.
up: $(STAMP)
	@$(BIN)/mrasim up

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) logs bundles
