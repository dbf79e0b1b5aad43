# make demo: set up, train a task on the CPU, diagnose it and write its pictures.
# make test: set up, lint (ruff) and run the default test suite (the slow tests: make test-slow).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_TASK ?= mod_add
DEMO_OUT ?= demo-out

.PHONY: setup demo lint test test-slow bench clean

$(BIN)/.installed: pyproject.toml examples/symreg-xor/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# torch pinned here, not in pyproject: 2.13.0 is the CPU build on this machine's disk;
	# an unpinned torch with none installed would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0 || $(BIN)/pip install -q torch
	$(BIN)/pip install -q -e '.[test]' -e examples/symreg-xor
	touch $@

setup: $(BIN)/.installed

demo: setup
	@run=$(DEMO_OUT)/$(DEMO_TASK)-$$(date +%Y%m%d-%H%M%S); \
	$(BIN)/symreg train $(DEMO_TASK) --preset quick --seeds 0-1 --stop-on-generalize --set stop_patience=800 --out $$run && \
	$(BIN)/symreg diagnose $$run && \
	$(BIN)/symreg plot $$run --out $$run/plots && \
	echo "pictures and report: $$run/plots"

lint: setup
	$(BIN)/ruff check .

test: lint
	$(BIN)/pytest

test-slow: setup
	$(BIN)/pytest -m slow

bench: setup
	$(BIN)/python benchmarks/epoch_speed.py

clean:
	rm -rf $(DEMO_OUT) .pytest_cache
