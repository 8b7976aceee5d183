# Two commands for a fresh machine:
#   make run    set up the environment and run the full analysis on the embedded default study
#   make test   set up the environment and run the test suite
# Set-up finds a Python >= 3.12 (PATH first, then pyenv's installed versions), creates
# .venv and installs the package with its pinned stack; it is skipped when up to date.

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup clean-venv

run: $(STAMP)
	$(BIN)/bayes-ketamine run

test: $(STAMP)
	$(BIN)/python -m pytest -ra

lint: $(STAMP)
	$(BIN)/ruff check .

setup: $(STAMP)

$(STAMP): pyproject.toml
	@set -e; \
	py=""; \
	for cand in python3.12 python3.13 python3 \
	    $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3 \
	    $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3; do \
	  if "$$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	    py="$$cand"; break; \
	  fi; \
	done; \
	if [ -z "$$py" ]; then echo "error: no Python >= 3.12 found (install one, e.g. with pyenv)" >&2; exit 1; fi; \
	echo "Using $$py ($$($$py --version))"; \
	"$$py" -m venv $(VENV); \
	$(BIN)/python -m pip install --quiet --upgrade pip; \
	$(BIN)/python -m pip install --quiet -e '.[test]'; \
	touch $(STAMP)

clean-venv:
	rm -rf $(VENV)
