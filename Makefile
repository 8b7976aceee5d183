# Two commands for a fresh machine:
#   make run    set up the environment and run the full analysis on the embedded default study
#   make test   set up the environment and run the test suite (with the docstring examples)
# and for the documentation site and the lock:
#   make docs   build the documentation site into build/docs/ (warnings are errors)
#   make typecheck   mypy over bayes_ketamine/ (settings in pyproject.toml's [tool.mypy])
#   make lock   re-resolve requirements/lock.txt after a change to pyproject.toml's dependencies
#   make lock-upgrade   move every locked version to the newest one pyproject.toml allows
# Set-up finds a Python >= 3.12 (PATH first, then pyenv's installed versions), creates
# .venv and installs the exact tested stack from requirements/lock.txt, then the package
# itself (editable, without resolving again); it is skipped when up to date.

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/lock.txt
LOCK_COMMAND := uv pip compile pyproject.toml --extra test --extra docs --extra dev \
	--universal --python-version 3.12 --custom-compile-command "make lock" --quiet -o $(LOCK)

.PHONY: run test docs lint typecheck setup lock lock-upgrade clean-venv

run: $(STAMP)
	$(BIN)/bayes-ketamine run

test: $(STAMP)
	$(BIN)/python -m pytest -ra

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs build/docs

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

setup: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
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
	$(BIN)/python -m pip install --quiet -r $(LOCK); \
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .; \
	touch $(STAMP)

lock: | $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/$(LOCK_COMMAND)

lock-upgrade: | $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/$(LOCK_COMMAND) --upgrade

clean-venv:
	rm -rf $(VENV)
