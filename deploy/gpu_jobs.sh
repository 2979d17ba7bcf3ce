#!/usr/bin/env bash
# The SmolLM2 work for one lent GPU machine (run by `deploy/gpu_grid.sh c`, env from there). Everything resumes:
# a cell whose result file exists is skipped, so a call that ran out of time is followed by the same call.
# Two grids side by side on the 16 cores (a SmolLM2-135M trial keeps one core busy and takes 3-6 GiB of the GPU):
#   A. seed 0 at n = 16/64/256 (the cells still missing), then the second seed at n = 64;
#   B. the second seed at n = 16, then at n = 256;
# and the prompt-tuning recipe benchmark's missing SmolLM2 configurations (trec and sst2 at 64 and 256) -> /root/extra.
set -u
TASKS=${LLM_TASKS:-sst2,ag_news,trec,sms_spam,financial_phrasebank,rte,subj,tweet_offensive,tos_unfair,scicite,mrpc,en_fr_words}
run() { python3 -m bench.cli run --models smollm2-135m --tasks $TASKS --methods all --executor process --threads 1 \
        --workers ${WORKERS:-5} --device ${DEVICE:-cuda} --test-cap 500 --results-dir $R "$@"; }
(run --sizes 16,64,256 --seeds 0; run --sizes 64 --seeds 1) > $L/grid_a.log 2>&1 &
(run --sizes 16 --seeds 1; run --sizes 256 --seeds 1) > $L/grid_b.log 2>&1 &
# the recipe benchmark resumes from the configurations already measured (cp -p keeps them older than the marker)
mkdir -p /root/extra && cp -p data/benchmarks/pt-recipe/smollm2-135m__* /root/extra/
python3 benchmarks/prompt_tuning_recipe.py --models smollm2-135m --out /root/extra --device ${DEVICE:-cuda} \
        --workers 2 > $L/recipe.log 2>&1 &
wait
