# make demo: set up, train a task on the CPU, diagnose it and write its pictures.
# make test: set up, lint (ruff) and run the default test suite (the slow tests: make test-slow).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The demo: mod_add p=71, 35% of the table for training, lr 3e-3, weight decay 3: it memorizes by
# epoch ~100, generalizes 200-300 epochs later and reaches its embedding's floor (geometric
# organization, which needs the run to double its epoch) by ~600, so all three stages fit in
# 1,500 epochs. One process per seed, one thread each: both cores busy on a quiet machine, no
# thread oversubscription on a shared one. The DEMO_* variables change it (the tests run it tiny).
DEMO_TASK ?= mod_add
DEMO_PARAMS ?= -P p=71
DEMO_SEEDS ?= 0 1
DEMO_TRAIN ?= --preset quick --train-frac 0.35 --lr 3e-3 --weight-decay 3 --epochs 1500 --device cpu
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

# Ctrl-C stops every seed politely (checkpointed; each prints its `symreg train --resume` line).
demo: setup
	@start=$$(date +%s); run=$(DEMO_OUT)/$(DEMO_TASK)-$$(date +%Y%m%d-%H%M%S); pids=; \
	mkdir -p $$run; logs() { cat $$run/seed-*.log 2>/dev/null; rm -f $$run/seed-*.log; }; \
	echo "Training $(DEMO_TASK) $(DEMO_PARAMS), seeds $(DEMO_SEEDS): one process each, one thread each"; \
	trap 'kill -TERM $$pids 2>/dev/null; wait; logs; exit 130' INT TERM; \
	for s in $(DEMO_SEEDS); do \
	  if [ -z "$$pids" ]; then q=; log=/dev/stderr; else q=-q; log=$$run/seed-$$s.log; fi; \
	  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/symreg train $(DEMO_TASK) $(DEMO_PARAMS) $(DEMO_TRAIN) \
	    --seed $$s --out $$run/seed-$$s $$q >/dev/null 2>$$log & pids="$$pids $$!"; \
	done; \
	for p in $$pids; do wait $$p || { kill -TERM $$pids 2>/dev/null; wait; logs; exit 1; }; done; logs; \
	$(BIN)/symreg diagnose $$run && \
	$(BIN)/symreg plot $$run --out $$run/plots >/dev/null && \
	cd $$run/plots && \
	echo "Done in $$(( $$(date +%s) - start )) s. Pictures and reports in $$run/plots:" \
	  summary.md violation_scatter.png */dynamics.png */embedding.png */report.md

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
