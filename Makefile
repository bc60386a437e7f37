# One command to set up and run the main job, one to run the tests (see README).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: setup demo test bench clean

$(BIN)/g2r: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	touch $(BIN)/g2r

setup: $(BIN)/g2r

demo: setup
	$(BIN)/g2r demo --out outputs/demo

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/attribution_speed.py

clean:
	rm -rf outputs .pytest_cache
