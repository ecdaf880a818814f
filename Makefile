# Entry points for a fresh machine. Every target creates .venv on first use.
#   make run    set up, then the main job (train + evaluate DenseNet)
#   make test   set up, then the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?= -n 2

.PHONY: venv run test clean

venv: $(VENV)/.installed

# Two steps so that exactly one TensorFlow is installed: tf-keras depends on
# `tensorflow`, requirements.txt brings tensorflow-cpu (requirements-no-deps.txt).
$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-no-deps.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-no-deps.txt
	touch $@

run: venv
	bash scripts/main_job.sh

test: venv
	bash scripts/install_system_deps.sh
	$(PY) -m pytest $(PYTEST_ARGS) tests

clean:
	rm -rf $(VENV) runs
