# Entry points for a fresh machine. Every target creates .venv on first use.
#   make run    set up, then the main job (train + evaluate DenseNet)
#   make test   set up, then the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?= -n 2

.PHONY: venv run test clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: venv
	bash scripts/main_job.sh

test: venv
	bash scripts/install_system_deps.sh
	$(PY) -m pytest $(PYTEST_ARGS) tests

clean:
	rm -rf $(VENV) runs
